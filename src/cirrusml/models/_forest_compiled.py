"""A compiled prediction path for scikit-learn's forests, for the few rows a request holds.

scikit-learn predicts a forest one tree at a time: each tree is a Cython call, but the loop over
the trees, the per-tree input checks and the accumulation run in Python, about 20 us a tree. A
583-tree ExtraTrees costs some 13 ms for one row, almost all of it that loop. Here every tree's
nodes are packed into flat arrays (children, feature, threshold, missing-value direction, leaf
output), and a batch walks all (tree, row) pairs down together in NumPy: one step moves every
pair still at an inner node to its child, and there are as many steps as the deepest tree.

Who calls what
--------------
``_ForestLearner.for_prediction`` (``models/_trees.py``), called when a best model is saved,
calls :func:`compile_forest`. It builds a :class:`CompiledForest` and checks it against the
forest's own prediction on generated rows (:func:`agrees`); only when they agree within
:data:`PARITY_TOLERANCE` does it route the estimator's ``predict`` and ``predict_proba``
through it (:class:`_Route`, set as instance attributes). The estimator stays the scikit-learn
forest it was, of its own class: ONNX export, Tree SHAP, generated code, ``get_params`` and
``clone`` see the same object, and code that predicts never branches on the path.

A routed call takes the compiled path only for a plain dense NumPy array of the fitted width
of at most :data:`MAX_ROWS` rows; anything else (a sparse matrix, a frame,
a wrong width, infinite values, missing values a forest cannot take, a batch past the crossover,
a forest refitted since) goes to scikit-learn's own method, which predicts or raises exactly as
before.

Exactness
---------
The compiled path computes what scikit-learn does, in the same order: rows cast to float32,
``x <= threshold`` at each node (the float64 threshold is replaced by the largest float32 not
above it, which gives the same answer for every float32 ``x``), a missing value sent where the
node's ``missing_go_to_left`` says; each tree's leaf output divided by its sum as
``DecisionTreeClassifier.predict_proba`` does; the trees summed in order from zero and divided by
their count, as ``ForestClassifier.predict_proba`` and ``ForestRegressor.predict`` do. The
probabilities come out equal to scikit-learn's to the last bit in the cases tested; the parity
check allows :data:`PARITY_TOLERANCE`.

Why not ONNX
------------
onnxruntime running skl2onnx's conversion was measured against this on the same forests
(``benchmarks/inference/forest_predict.py``; figures in ``benchmarks/inference/RESULTS.md``).
It is faster still on small batches (one row: 0.11 ms against 0.55 ms for a 583-tree
ExtraTrees), but not exact: ``TreeEnsembleClassifier`` keeps thresholds and leaf weights in
float32 and outputs float32 probabilities, which differed from scikit-learn's by up to 5e-6 on
that forest, past the 1e-6 a saved model must keep; a float64 conversion is refused by
onnxruntime (its classifier outputs float32 only). The NumPy walk is exact, needs no conversion
at save time and no session in the pickle; past :data:`MAX_ROWS` rows scikit-learn's own loop
(one Cython pass per tree over all rows) is as fast as either.

Pickling
--------
The packed arrays are not pickled (they would add about half the forest's size to the saved
model), and they are not held until a batch needs them: a :class:`CompiledForest` pickles as
the forest's list of trees and packs them on the first batch it takes (about 0.1 s a million
nodes; a few ms for a hundred trees of a few thousand nodes), so a loaded model that only
predicts large batches (batch scoring, an explanation, a benchmark's test split) never holds a
second copy of its forests. :func:`compile_forest` drops them again after its parity check.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np

#: Largest batch (rows) the compiled path predicts; larger batches go to scikit-learn. The
#: walk costs about (rows x trees x depth) element steps, scikit-learn's loop about 20 us a
#: tree plus its per-row work, so the crossover is a row count more than a pair count: measured
#: at about 48 rows for both a 583-tree ExtraTrees and a 100-tree RandomForest (at 32 rows the
#: walk takes 40% of scikit-learn's time; ``benchmarks/inference/RESULTS.md``).
MAX_ROWS = 32

#: Forests with more nodes than this (all trees together) are not compiled: the packed copy
#: would cost memory out of proportion to what it saves.
MAX_NODES = 20_000_000

#: Largest difference from scikit-learn's output the parity check at settle time accepts.
PARITY_TOLERANCE = 1e-6

_LEAF = -1  # scikit-learn's child index at a leaf


def _float32_floor(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 not above each float64 threshold: for a float32 ``x``,
    ``x <= threshold`` exactly when ``x <= _float32_floor(threshold)``."""
    with np.errstate(over="ignore"):
        lowered = threshold.astype(np.float32)
    above = lowered.astype(np.float64) > threshold
    lowered[above] = np.nextafter(lowered[above], np.float32(-np.inf))
    return lowered


class CompiledForest:
    """Every tree of a fitted scikit-learn forest in flat arrays, and a vectorised walk.

    Parameters
    ----------
    estimators
        The fitted forest's trees (its ``estimators_``), single-output.
    n_classes
        The forest's number of classes, or ``None`` for a regressor.

    Raises
    ------
    ValueError
        When the trees have several outputs or too many nodes (:data:`MAX_NODES`).
    """

    def __init__(self, estimators: list[Any], n_classes: int | None) -> None:
        self.estimators = estimators
        self.n_classes = n_classes
        self._packed: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._check(self.estimators)

    @property
    def classifier(self) -> bool:
        return self.n_classes is not None

    @staticmethod
    def _check(estimators: list[Any]) -> None:
        trees = [estimator.tree_ for estimator in estimators]
        if not trees or any(int(tree.n_outputs) != 1 for tree in trees):
            raise ValueError("only single-output forests are compiled")
        total = sum(int(tree.node_count) for tree in trees)
        if total > MAX_NODES:
            raise ValueError(f"the forest has {total} nodes, more than {MAX_NODES}")

    @property
    def packed(self) -> dict[str, Any]:
        """The flat arrays, packed on first use (a loaded model that only ever predicts large
        batches never holds them)."""
        packed = self._packed
        if packed is None:
            with self._lock:
                if self._packed is None:
                    self._packed = self._build()
                packed = self._packed
        return packed

    def release(self) -> None:
        """Drop the flat arrays; the next small batch packs them again."""
        self._packed = None

    def _build(self) -> dict[str, Any]:
        # Filled tree by tree into arrays of their final types: no temporary the size of the
        # whole forest (a forest of millions of nodes would otherwise need several).
        trees = [estimator.tree_ for estimator in self.estimators]
        sizes = np.array([tree.node_count for tree in trees], dtype=np.int64)
        total = int(sizes.sum())
        index = np.int32 if total < np.iinfo(np.int32).max else np.int64
        roots = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(index)
        width = int(trees[0].value.shape[2])
        left = np.empty(total, dtype=index)
        right = np.empty(total, dtype=index)
        feature = np.empty(total, dtype=np.int32)
        threshold = np.empty(total, dtype=np.float32)
        missing_left = np.empty(total, dtype=bool)
        internal = np.empty(total, dtype=bool)
        value = np.empty((total, width), dtype=np.float64)
        for tree, start, size in zip(trees, roots.tolist(), sizes.tolist(), strict=True):
            part = slice(start, start + size)
            children_left, children_right = tree.children_left, tree.children_right
            leaf = children_left == _LEAF
            # A leaf points at itself, so that a pair that reached one stays there.
            own = np.arange(start, start + size, dtype=index)
            left[part] = np.where(leaf, own, children_left + start)
            right[part] = np.where(leaf, own, children_right + start)
            feature[part] = np.where(leaf, 0, tree.feature)
            threshold[part] = _float32_floor(tree.threshold)
            missing_left[part] = tree.missing_go_to_left
            internal[part] = ~leaf
            leaf_value = tree.value[:, 0, :]
            if self.classifier:
                # DecisionTreeClassifier.predict_proba: each row divided by its sum (0 -> 1).
                normalizer = leaf_value.sum(axis=1)[:, np.newaxis]
                normalizer[normalizer == 0.0] = 1.0
                leaf_value = leaf_value / normalizer
            value[part] = leaf_value
        return {
            "roots": roots, "left": left, "right": right, "feature": feature,
            "threshold": threshold, "missing_left": missing_left, "internal": internal,
            "value": value, "depth": max(int(tree.max_depth) for tree in trees),
        }

    def __getstate__(self) -> dict[str, Any]:
        # The trees only: packing them again when first needed is cheaper than a second copy.
        return {"estimators": self.estimators, "n_classes": self.n_classes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # The trees are whole here (they hold no reference back to the forest or this).
        self.__dict__.update(state)
        self._packed = None
        self._lock = threading.Lock()

    @property
    def n_nodes(self) -> int:
        return int(sum(int(estimator.tree_.node_count) for estimator in self.estimators))

    def leaves(self, X32: np.ndarray) -> np.ndarray:
        """The global leaf index of every (tree, row) pair, as ``(n_trees, n_rows)``.

        ``X32`` is a C-contiguous float32 array without infinite values (missing values go
        where each node sends them)."""
        packed = self.packed
        n_rows = X32.shape[0]
        roots = packed["roots"]
        node = np.repeat(roots, n_rows)  # tree-major: pair k is tree k // n_rows
        rows = np.tile(np.arange(n_rows, dtype=np.intp), len(roots))
        flat = X32.ravel()
        left, right, feature = packed["left"], packed["right"], packed["feature"]
        threshold, internal = packed["threshold"], packed["internal"]
        missing = bool(np.isnan(flat).any())
        missing_left = packed["missing_left"]
        active = np.flatnonzero(internal[node])
        at = node[active]
        cells = rows[active] * X32.shape[1]
        for _ in range(packed["depth"]):
            if not active.size:
                break
            x = flat[cells + feature[at]]
            go_left = x <= threshold[at]
            if missing:
                nan = np.isnan(x)
                go_left[nan] = missing_left[at[nan]]
            at = np.where(go_left, left[at], right[at])
            node[active] = at
            still = internal[at]
            if not still.all():
                active, at, cells = active[still], at[still], cells[still]
        return node.reshape(len(roots), n_rows)

    def mean_output(self, X32: np.ndarray) -> np.ndarray:
        """The forest's ``predict_proba`` (classifier) or ``predict`` (regressor) output."""
        per_tree = self.packed["value"][self.leaves(X32)]  # (trees, rows, width)
        total = np.add.reduce(per_tree, axis=0)  # tree by tree, in order, as scikit-learn
        total /= len(self.estimators)
        if self.n_classes is not None:
            return total[:, : self.n_classes]
        return total[:, 0]


def _takes_missing(forest: Any) -> bool:
    """Whether scikit-learn lets missing values through to this forest's trees."""
    from sklearn.utils import get_tags

    tree = forest.estimators_[0]
    return bool(get_tags(tree).input_tags.allow_nan
                and getattr(tree, "monotonic_cst", None) is None)


class _Route:
    """A forest method (``predict`` or ``predict_proba``) routed through a
    :class:`CompiledForest`, set on the fitted forest as an instance attribute.

    The compiled path takes a batch when :meth:`rows` accepts it; anything else goes to the
    forest class's own method, which predicts or raises as it always did."""

    def __init__(self, forest: Any, compiled: CompiledForest, method: str,
                 takes_missing: bool) -> None:
        self.forest = forest
        self.compiled = compiled
        self.method = method
        self.takes_missing = takes_missing

    def rows(self, X: Any) -> np.ndarray | None:
        """``X`` as the float32 rows the compiled path takes, or ``None`` for scikit-learn."""
        if type(X) is not np.ndarray or X.ndim != 2 or X.dtype.kind not in "fiub":
            return None
        forest = self.forest
        if not 0 < X.shape[0] <= MAX_ROWS or X.shape[1] != forest.n_features_in_:
            return None
        if forest.__dict__.get("estimators_") is not self.compiled.estimators:
            return None  # refitted since it was compiled
        with np.errstate(over="ignore", invalid="ignore"):
            X32 = np.ascontiguousarray(X, dtype=np.float32)
        if not np.isfinite(X32).all() and (np.isinf(X32).any() or not self.takes_missing):
            return None  # scikit-learn raises its own error
        return X32

    def __call__(self, X: Any) -> np.ndarray:
        forest = self.forest
        X32 = self.rows(X)
        if X32 is None:
            return getattr(type(forest), self.method)(forest, X)
        if hasattr(forest, "feature_names_in_"):
            # What scikit-learn says of an array given to a forest fitted on a frame.
            warnings.warn(f"X does not have valid feature names, but {type(forest).__name__} "
                          "was fitted with feature names", UserWarning, stacklevel=2)
        output = self.compiled.mean_output(X32)
        if self.method == "predict" and self.compiled.classifier:
            labels: np.ndarray = forest.classes_.take(np.argmax(output, axis=1), axis=0)
            return labels
        return output


def is_compiled(forest: Any) -> bool:
    """Whether ``forest``'s predictions are routed through a :class:`CompiledForest`."""
    return isinstance(getattr(forest, "__dict__", {}).get("predict"), _Route)


def uncompile(forest: Any) -> None:
    """Route ``forest``'s predictions back to scikit-learn's own methods, in place."""
    for method in ("predict", "predict_proba"):
        if isinstance(forest.__dict__.get(method), _Route):
            del forest.__dict__[method]


def parity_rows(compiled: CompiledForest, n_features: int, takes_missing: bool,
                rows: int = 64, seed: int = 0) -> np.ndarray:
    """Generated rows for the parity check: each feature's values drawn at and just around
    the thresholds the trees split it on (so that both branches are taken), missing in a
    tenth of the cells when the forest takes missing values."""
    packed = compiled.packed
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, n_features))
    feature, internal = packed["feature"], packed["internal"]
    threshold = packed["threshold"].astype(np.float64)
    for column in range(n_features):
        splits = threshold[internal & (feature == column) & np.isfinite(threshold)]
        if splits.size:
            picks = rng.choice(splits, size=rows)
            nudge = rng.choice(np.array([-1e-3, 0.0, 1e-3]), size=rows)
            X[:, column] = picks + nudge * (1.0 + np.abs(picks))
    if takes_missing:
        X[rng.random(size=X.shape) < 0.1] = np.nan
    return np.ascontiguousarray(X, dtype=np.float32)


def agrees(forest: Any, compiled: CompiledForest, X32: np.ndarray) -> bool:
    """Whether ``compiled`` gives the forest's own output on the rows ``X32`` (all at once,
    and the first and last alone) within :data:`PARITY_TOLERANCE`."""
    own = getattr(type(forest), "predict_proba" if compiled.classifier else "predict")
    for batch in (X32, X32[:1], X32[-1:]):
        expected = np.asarray(own(forest, batch), dtype=np.float64)
        got = compiled.mean_output(np.ascontiguousarray(batch))
        if got.shape != expected.shape or not np.allclose(
                got, expected, rtol=0.0, atol=PARITY_TOLERANCE):
            return False
    return True


def compile_forest(forest: Any) -> bool:
    """Route a fitted forest's ``predict`` (and a classifier's ``predict_proba``) through a
    :class:`CompiledForest` for small dense batches, in place, when the compiled path agrees
    with the forest on generated rows (:func:`parity_rows`, :func:`agrees`); otherwise leave
    the forest's own methods. Returns whether the forest is routed.

    A forest routed already is compiled again from its current trees."""
    uncompile(forest)
    classifier = hasattr(forest, "classes_")
    try:
        if int(forest.n_outputs_) != 1:
            return False
        n_classes = int(forest.n_classes_) if classifier else None
        compiled = CompiledForest(forest.estimators_, n_classes)
        takes_missing = _takes_missing(forest)
        X32 = parity_rows(compiled, int(forest.n_features_in_), takes_missing)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)  # feature names
            ok = agrees(forest, compiled, X32)
    except (ValueError, AttributeError, IndexError, TypeError):
        return False
    compiled.release()  # packed again by the first small batch, not held by a model being saved
    if not ok:
        return False
    for method in ("predict", "predict_proba") if classifier else ("predict",):
        setattr(forest, method, _Route(forest, compiled, method, takes_missing))
    return True
