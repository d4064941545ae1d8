"""The reference app: a FastAPI + SQLAlchemy shop instrumented with `vedette.kit`.

Every capability of the seed (``seed-sentry-monitoring.md``) appears here the way the kit does
it; `README.md` beside this file maps each one to the code.
"""
