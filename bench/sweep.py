"""The seed sweep (5 parents x 5 children) with the official MLflow client, as in
/work/shared/reference/seed-parent-child-runs.md. The tracking URI comes from
MLFLOW_TRACKING_URI (unset: MLflow's default, sqlite:///mlflow.db in the working directory);
MLFLOW_ENABLE_ASYNC_LOGGING=true selects the client's async logging."""

import random
from functools import partial
from itertools import starmap

import mlflow


def consume(iterator):
    for _ in iterator:
        pass


def log_run(run_name, test_no, param1_choices, param2_choices, tag_ident):
    with mlflow.start_run(run_name=run_name, nested=True):
        mlflow.log_param("param1", random.choice(param1_choices))
        mlflow.log_param("param2", random.choice(param2_choices))
        mlflow.log_metric("metric1", random.uniform(0, 1))
        mlflow.log_metric("metric2", abs(random.gauss(5, 2.5)))
        mlflow.set_tag("test_identifier", tag_ident)


def generate_run_names(test_no, num_runs=5):
    return (f"run_{i}_test_{test_no}" for i in range(num_runs))


def execute_tuning(test_no, param1_choices=("a", "b", "c"), param2_choices=("d", "e", "f"), test_identifier=""):
    ident = "default" if not test_identifier else test_identifier
    with mlflow.start_run(run_name=f"parent_run_test_{ident}_{test_no}"):
        log_current_run = partial(
            log_run,
            test_no=test_no,
            param1_choices=param1_choices,
            param2_choices=param2_choices,
            tag_ident=ident,
        )
        mlflow.set_tag("test_identifier", ident)
        runs = starmap(log_current_run, ((run_name,) for run_name in generate_run_names(test_no)))
        consume(runs)


mlflow.set_experiment("Nested Child Association")
param_1_values = ["x", "y", "z"]
param_2_values = ["u", "v", "w"]
consume(starmap(execute_tuning, ((x, param_1_values, param_2_values) for x in range(5))))
if hasattr(mlflow, "flush_async_logging"):
    mlflow.flush_async_logging()
