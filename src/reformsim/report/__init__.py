"""What a run becomes for people and scripts: KPI tables, figures, run directories,
and the checks of a model (lint, verify against a reference output)."""
