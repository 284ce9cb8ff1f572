"""The training length a profile asks for (`train.epochs` or `train.max_steps`, `train.eval_every`,
`train.save_every`) in optimizer steps, derived from the training rows the way transformers' Trainer counts them."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

from mcpft_lib.config import TrainParams


def steps_per_epoch(train_rows: int, batch_size: int, grad_accum: int = 1, processes: int = 1) -> int:
    """Optimizer steps in one pass over `train_rows`, as the Trainer counts them: each process's dataloader keeps
    the last, smaller batch (`ceil(ceil(rows / batch_size) / processes)` batches: accelerate's even batches), and
    the last, shorter gradient accumulation is an optimizer step too (`ceil(batches / grad_accum)`;
    `Trainer.set_initial_training_values`). Together: ceil(rows / (batch_size x grad_accum x processes)), so
    halving the batch and doubling the accumulation after an out-of-memory error keeps the count."""
    if train_rows < 1:
        raise ValueError("no training rows: nothing to count epochs over")
    batches = math.ceil(math.ceil(train_rows / batch_size) / processes)
    return max(math.ceil(batches / grad_accum), 1)


@dataclass(frozen=True)
class Schedule:
    """Steps of one training: its length, the validation and checkpoint intervals and where they fall."""

    length_from: str  # "epochs" or "max_steps": which key of the profile gave the length
    epochs: float  # passes over the training rows that `max_steps` makes (train.epochs when that was given)
    train_rows: int
    processes: int
    effective_batch: int  # batch_size x grad_accum x processes
    steps_per_epoch: int
    max_steps: int
    eval_steps: int
    save_steps: int

    def at(self, every: int) -> list[int]:
        """The steps the Trainer acts on with an interval `every`: its multiples, and the last step (transformers
        evaluates and saves at the end of training too)."""
        return sorted({*range(every, self.max_steps + 1, every), self.max_steps})

    @property
    def eval_at(self) -> list[int]:
        return self.at(self.eval_steps)

    @property
    def save_at(self) -> list[int]:
        return self.at(self.save_steps)

    def as_dict(self) -> dict:
        """The schedule for the training summary (metrics.json `train`), with the steps it validates and saves at."""
        return {**asdict(self), "eval_at": self.eval_at, "save_at": self.save_at}


def processes() -> int:
    """Training processes of this launch: torchrun and accelerate launch set WORLD_SIZE (1 without them)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def derive(tp: TrainParams, train_rows: int, n_processes: int | None = None) -> Schedule:
    """`tp`'s length and intervals in optimizer steps for `train_rows` training rows on `n_processes` processes
    (default: this launch's). `train.epochs` x steps per epoch, or `train.max_steps` as given; "epoch" intervals
    are the steps per epoch. Raises when early stopping's best checkpoint could fall between two saves."""
    n_processes = processes() if n_processes is None else n_processes
    spe = steps_per_epoch(train_rows, tp.batch_size, tp.grad_accum, n_processes)
    if tp.epochs is not None:
        length_from, max_steps = "epochs", tp.epochs * spe
    elif tp.max_steps is not None:
        length_from, max_steps = "max_steps", tp.max_steps
    else:  # TrainParams fills epochs when neither is given; a model_copy can bypass that
        raise ValueError("train.epochs or train.max_steps must give the training length")
    eval_steps = spe if tp.eval_every == "epoch" else tp.eval_every
    save_steps = spe if tp.save_every == "epoch" else tp.save_every
    if tp.early_stopping.patience and save_steps % eval_steps:
        raise ValueError(
            f"early stopping keeps the best checkpoint: train.save_every={tp.save_every!r} ({save_steps} steps) "
            f"must be a multiple of train.eval_every={tp.eval_every!r} ({eval_steps} steps) for {train_rows} "
            f"training rows"
        )
    return Schedule(
        length_from=length_from,
        epochs=tp.epochs if tp.epochs is not None else round(max_steps / spe, 4),
        train_rows=train_rows,
        processes=n_processes,
        effective_batch=tp.batch_size * tp.grad_accum * n_processes,
        steps_per_epoch=spe,
        max_steps=max_steps,
        eval_steps=eval_steps,
        save_steps=save_steps,
    )
