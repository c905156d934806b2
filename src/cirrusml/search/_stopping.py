"""When the search stops: Azure's early-termination rule and the exit score (reference §12.3)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Iterations 1-20 are "landmarks" and never stop the search.
LANDMARK_ITERATIONS = 20
#: Stop after this many consecutive iterations without improving the best score.
EARLY_STOPPING_ITERATIONS = 10


@dataclass
class StoppingRule:
    """Tracks finished trials' scores (as losses: lower is better) and says when to stop."""

    enable_early_termination: bool = True
    exit_loss: float | None = None  # the exit score as a loss
    best_loss: float = math.inf
    iterations: int = 0
    since_improvement: int = 0
    history: list[float] = field(default_factory=list)

    def tell(self, loss: float | None) -> None:
        """Record one finished trial (``None`` or NaN for a failed one)."""
        self.iterations += 1
        value = math.inf if loss is None or not math.isfinite(loss) else loss
        self.history.append(value)
        # Azure compares absolute best scores; an equal score is no improvement.
        if value < self.best_loss:
            self.best_loss = value
            if self.iterations > LANDMARK_ITERATIONS:
                self.since_improvement = 0
        elif self.iterations > LANDMARK_ITERATIONS:
            self.since_improvement += 1

    @property
    def exit_score_reached(self) -> bool:
        return self.exit_loss is not None and self.best_loss <= self.exit_loss

    @property
    def early_terminated(self) -> bool:
        return (self.enable_early_termination
                and self.iterations >= LANDMARK_ITERATIONS + EARLY_STOPPING_ITERATIONS
                and self.since_improvement >= EARLY_STOPPING_ITERATIONS)
