"""Back-tests: the model's prediction for a real case next to what happened."""

from .run import BacktestResult, NoHistory, backtest, predict
from .score import Paths, Prediction, Score, score

__all__ = [
    "BacktestResult",
    "NoHistory",
    "Paths",
    "Prediction",
    "Score",
    "backtest",
    "predict",
    "score",
]
