# The two commands of the README: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/flask: requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $(BIN)/flask

.PHONY: install run test translations worker
install: $(BIN)/flask

# Run the whole product with demo data: SQLite and the in-process worker.
run: install
	$(BIN)/flask --app wsgi demo
	PORTAL_WORKER_THREAD=1 $(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

# Run the test suite (DATABASE_URL / REDIS_URL select PostgreSQL and Redis; default SQLite).
test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations
	$(BIN)/pybabel compile -d portal/translations

worker: install
	$(BIN)/flask --app wsgi worker
