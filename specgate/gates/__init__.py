"""Gates: the verdicts (lint, trace, bdd, links) decided on the model the readers produce."""
