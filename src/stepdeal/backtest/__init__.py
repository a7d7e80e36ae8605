"""Back-tests: the model's prediction for a real case next to what happened."""

from .run import BacktestResult, NoHistory, backtest, predict
from .score import Prediction, Score, kendall_tau, score

__all__ = [
    "BacktestResult",
    "NoHistory",
    "Prediction",
    "Score",
    "backtest",
    "kendall_tau",
    "predict",
    "score",
]
