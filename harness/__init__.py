"""The BDD harness: the one step table both runners register, the scenario world, and the helpers.

``registry`` (the ``step`` decorator and the table; a leaf), ``steps/`` (step modules per area,
all imported by ``steps/__all_steps__``), ``runners`` (registers the table with behave and
pytest-bdd), ``world`` (the scenario world, in typed parts), ``assertions``, ``live`` (a real
manager process), ``projects`` (throw-away BDD projects), ``canary`` (the secrets canary),
``gpu`` and ``waiting``. Nothing here imports ``tests/``; the tests import from here.
"""
