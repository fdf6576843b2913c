"""Trainer callbacks."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback


class KeepBestCallback(TrainerCallback):
    """Keeps a CPU copy of the weights that score best on ``metric`` (validation only) and puts
    them back when training ends; ties keep the earlier weights.

    In-memory selection avoids writing a checkpoint (weights + optimizer state) per evaluation,
    which costs more than the evaluation itself for small models.
    """

    def __init__(self, metric: str, greater_is_better: bool = True) -> None:
        self.metric = metric if metric.startswith("eval_") else f"eval_{metric}"
        self.sign = 1.0 if greater_is_better else -1.0
        self.best_score: float | None = None
        self.best_step: int | None = None
        self.history: list[dict[str, Any]] = []
        self._state: dict[str, Any] | None = None

    def on_step_end(self, args, state, control, **kwargs):
        # the final weights are a candidate too, even when the step count is not a multiple
        # of the evaluation interval
        if state.global_step >= state.max_steps and args.eval_strategy != "no":
            control.should_evaluate = True
        return control

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        if not metrics or self.metric not in metrics:
            return
        score = float(metrics[self.metric])
        self.history.append(
            {"step": state.global_step, **{k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}}
        )
        if self.best_score is None or self.sign * score > self.sign * self.best_score:
            self.best_score, self.best_step = score, state.global_step
            self._state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self._state is not None and model is not None:
            model.load_state_dict(self._state)
            self._state = None


class StepProgress(TrainerCallback):
    """A tqdm bar over the optimizer steps (on stderr), with the latest logged loss; shown by the
    first process of each machine only."""

    def __init__(self, desc: str = "train") -> None:
        self.desc = desc
        self.bar = None

    def on_train_begin(self, args, state, control, **kwargs):
        from tqdm.auto import tqdm

        if not state.is_local_process_zero:  # one bar per machine under a multi-process launch
            return control
        self.bar = tqdm(total=state.max_steps, desc=self.desc, unit="step", leave=False, dynamic_ncols=True)
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is not None and logs and "loss" in logs:
            self.bar.set_postfix(loss=f"{float(logs['loss']):.4f}")
        return control

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        return control


def show_progress(requested: bool | None) -> bool:
    """``None``: bars only when stderr is a terminal (never in logs, pipes or tests)."""
    import sys

    return sys.stderr.isatty() if requested is None else bool(requested)
