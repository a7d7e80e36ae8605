from stepdeal.cli.main import app

app()
