"""The two ensembles a job ends with, as scikit-learn estimators over fitted member pipelines.

Both take raw input rows like any single model: each member is a whole fitted pipeline (its own
featurization included). Members whose fitted steps before the model are identical (LightGBM
and XGBoost trials of one job share their featurization) share one copy of those steps, found
once when the ensemble is first used or saved; rows pass through each distinct featurization
once, not once per member.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.pipeline import Pipeline

from cirrusml.exceptions import NotFittedError
from cirrusml.tasks import align_proba


def member_proba(member: Any, X: Any, classes: list[Any]) -> np.ndarray:
    """``member``'s class probabilities with one column per class of ``classes`` (a class the
    member never saw gets 0): :func:`cirrusml.tasks.align_proba`."""
    return align_proba(member, X, classes)


class _Ensemble(BaseEstimator):
    """Shared by both ensembles: members are fitted pipelines, given at construction."""

    def __init__(self, *, estimators: Sequence[Any] = (), weights: Sequence[float] = (),
                 classes: Sequence[Any] | None = None, names: Sequence[str] = ()) -> None:
        self.estimators = estimators
        self.weights = weights
        self.classes = classes
        self.names = names

    def _check(self) -> None:
        if not self.estimators:
            raise NotFittedError(f"{type(self).__name__} has no member models.")

    @property
    def classes_(self) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("a regression ensemble has no classes_")
        return np.asarray(self.classes, dtype=object if any(
            isinstance(c, str) for c in self.classes) else None)

    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> _Ensemble:
        """Members arrive fitted; fitting the ensemble is a no-op kept for the sklearn API."""
        self._check()
        return self

    def _member_outputs(self, X: Any) -> list[np.ndarray]:
        self._check()
        classes = None if self.classes is None else list(self.classes)
        outputs: list[np.ndarray | None] = [None] * len(self.estimators)
        for steps, positions in self._shared_steps():
            Xt = X
            for step in steps:
                Xt = step.transform(Xt)
            for i in positions:
                member = self.estimators[i]
                final = member.steps[-1][1] if isinstance(member, Pipeline) else member
                outputs[i] = (align_proba(final, Xt, classes) if classes is not None
                              else np.asarray(final.predict(Xt), dtype=float))
        return [o for o in outputs if o is not None]

    def _shared_steps(self) -> list[tuple[list[Any], list[int]]]:
        """Members grouped by their fitted steps before the model: (the steps, the members'
        positions). Found once (:func:`share_steps`) and kept, in the pickle too; a member
        that is no pipeline is a group of its own with no steps."""
        members = list(self.estimators)
        cached = self.__dict__.get("_groups")
        if cached is not None and len(cached[0]) == len(members) and all(
                a is b for a, b in zip(cached[0], members, strict=True)):
            return list(cached[1])
        groups = []
        for owner, positions in share_steps(members):
            steps = [] if owner < 0 else [step for _, step in members[owner].steps[:-1]
                                          if step is not None and step != "passthrough"]
            groups.append((steps, positions))
        self.__dict__["_groups"] = (members, groups)  # the members: to know they are the same
        return groups

    def __getstate__(self) -> dict[str, Any]:
        self._shared_steps()  # share identical steps before saving: one copy in the pickle
        state: dict[str, Any] = super().__getstate__()
        return state


class VotingEnsemble(_Ensemble):
    """Weighted soft voting (classification) or weighted averaging (regression)."""

    def _blend(self, X: Any) -> np.ndarray:
        outputs = self._member_outputs(X)
        weights = np.asarray(self.weights, dtype=float)
        weights = weights / weights.sum()
        return np.tensordot(weights, np.stack(outputs), axes=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("predict_proba is for classification ensembles")
        return self._blend(X)

    def predict(self, X: Any) -> np.ndarray:
        blended = self._blend(X)
        if self.classes is None:
            return blended
        return self.classes_[np.argmax(blended, axis=1)]


class VotingClassifierEnsemble(VotingEnsemble, ClassifierMixin):
    """VotingEnsemble for classification (scikit-learn sees a classifier)."""


class VotingRegressorEnsemble(VotingEnsemble, RegressorMixin):
    """VotingEnsemble for regression (scikit-learn sees a regressor)."""


class StackEnsemble(_Ensemble):
    """Two layers: the members' predictions feed a fitted meta-learner."""

    def __init__(self, *, estimators: Sequence[Any] = (), weights: Sequence[float] = (),
                 classes: Sequence[Any] | None = None, names: Sequence[str] = (),
                 meta_learner: Any = None) -> None:
        super().__init__(estimators=estimators, weights=weights, classes=classes, names=names)
        self.meta_learner = meta_learner

    def _meta_features(self, X: Any) -> np.ndarray:
        return stack_features(self._member_outputs(X), self.classes is not None)

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("predict_proba is for classification ensembles")
        proba = np.asarray(self.meta_learner.predict_proba(self._meta_features(X)), dtype=float)
        return _align(proba, list(self.meta_learner.classes_), len(self.classes))

    def predict(self, X: Any) -> np.ndarray:
        if self.classes is None:
            return np.asarray(self.meta_learner.predict(self._meta_features(X)), dtype=float)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class StackClassifierEnsemble(StackEnsemble, ClassifierMixin):
    """StackEnsemble for classification."""


class StackRegressorEnsemble(StackEnsemble, RegressorMixin):
    """StackEnsemble for regression."""


def _steps_key(member: Any) -> bytes | None:
    """A digest of a fitted pipeline's steps before its model; ``None`` for anything else."""
    if not isinstance(member, Pipeline) or len(member.steps) < 2:
        return None
    try:
        blob = pickle.dumps([step for _, step in member.steps[:-1]], protocol=5)
    except Exception:  # a step that does not pickle is shared with nothing
        return None
    return hashlib.sha256(blob).digest()


def share_steps(members: Sequence[Any]) -> list[tuple[int, list[int]]]:
    """Group ``members`` whose fitted steps before the model pickle to the same bytes (so they
    transform rows identically), and make the members of a group hold one copy of those steps.

    Returns (owner, positions) per group: the owner's steps are the group's (``-1``: members
    that are no pipelines, one group each)."""
    groups: dict[bytes, tuple[int, list[int]]] = {}
    out: list[tuple[int, list[int]]] = []
    for i, member in enumerate(members):
        key = _steps_key(member)
        if key is None:
            out.append((i if isinstance(member, Pipeline) else -1, [i]))
            continue
        if key in groups:
            owner = members[groups[key][0]]
            if isinstance(member.steps, list):
                for j in range(len(member.steps) - 1):
                    member.steps[j] = (member.steps[j][0], owner.steps[j][1])
            groups[key][1].append(i)
        else:
            groups[key] = (i, [i])
            out.append(groups[key])
    return out


def stack_features(outputs: Sequence[np.ndarray], classification: bool) -> np.ndarray:
    """The meta-learner's input: members' class probabilities (all but the last class, which
    the others determine) or predicted values, side by side."""
    if classification:
        blocks = [o[:, :-1] if o.shape[1] > 1 else o for o in outputs]
        return np.hstack(blocks)
    return np.column_stack(outputs)


def _align(proba: np.ndarray, fitted: list[Any], n_classes: int) -> np.ndarray:
    """Meta-learner probabilities (over class positions it saw) as one column per class."""
    if len(fitted) == n_classes:
        return proba
    out = np.zeros((proba.shape[0], n_classes))
    for j, c in enumerate(fitted):
        out[:, int(c)] = proba[:, j]
    return out
