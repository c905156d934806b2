"""Write scikit-learn's bundled breast-cancer data as an MLTable folder beside this file.

    python examples/breast-cancer/prepare.py

The data ships inside scikit-learn (569 rows, 30 numeric features, a benign/malignant target),
so the example needs no download.
"""

from __future__ import annotations

from pathlib import Path

from sklearn.datasets import load_breast_cancer

from cirrusml import mltable

here = Path(__file__).resolve().parent
folder = here / "data" / "training-mltable-folder"
folder.mkdir(parents=True, exist_ok=True)

bunch = load_breast_cancer(as_frame=True)
frame = bunch.frame.copy()
frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
frame.columns = [c.replace(" ", "_") for c in frame.columns]
frame.to_csv(folder / "breast_cancer.csv", index=False)

table = mltable.from_delimited_files([{"file": str(folder / "breast_cancer.csv")}])
table.save(folder)
print(f"Wrote {len(frame)} rows to {folder} (MLTable + breast_cancer.csv)")
