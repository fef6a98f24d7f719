"""ExoChat Lab: scenario suites of simulated customers run against sales-discovery assistants.

Importing the package switches off every phone-home path of its dependencies: the Lab must run on
machines that reach nothing but package registries, and a user's evaluation data must never leave
their machine by accident.
"""

import os as _os

for _key, _value in {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DEEPEVAL_TELEMETRY_OPT_OUT": "YES",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MLFLOW_LOGGING_LEVEL": "WARNING",  # table-creation and experiment chatter is not news to users
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # a progress bar per downloaded scores.csv
}.items():
    _os.environ.setdefault(_key, _value)

__version__ = "0.1.0"
