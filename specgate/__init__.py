"""specgate: spec tooling for Markdown specs and Gherkin features (see specgate/README.md).

One model read once (``model``), readers that produce it (``readers``), gates that decide on
it (``gates``), renderers that show the verdicts (``render``), and one thin module per console
script (``extract``, ``lint``, ``trace``, ``links``, ``bdd``).
"""
