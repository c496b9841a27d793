"""Generates sklearn_reference.json, the reference values of tests/sklearn_reference.rs.

Run with scikit-learn installed (values committed were produced by scikit-learn 1.9.1):
    python sklearn_reference.py > sklearn_reference.json

Feature values are multiples of 1/1024, exact in float32 (scikit-learn's trees cast X to
float32) and float64, so tree thresholds agree bit for bit.
"""
import json

import numpy as np
import sklearn
from sklearn.ensemble import AdaBoostClassifier, GradientBoostingClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import roc_auc_score

rng = np.random.RandomState(0)


def data(n):
    x = rng.randint(0, 1024, size=(n, 4)) / 1024.0
    noise = rng.normal(scale=0.25, size=n)
    y = (x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 2] + noise) > 0.6
    return x, y


x_train, y_train = data(80)
x_test, _ = data(40)

gb = GradientBoostingClassifier(random_state=0).fit(x_train, y_train)
ada = AdaBoostClassifier(n_estimators=50, learning_rate=1.0, random_state=0).fit(x_train, y_train)
sgd = {}
for intercept in (False, True):
    model = SGDClassifier(loss="hinge", penalty="elasticnet", alpha=1e-4, l1_ratio=0.5,
                          fit_intercept=intercept, max_iter=10000, tol=1e-4, shuffle=False)
    model.fit(x_train, y_train)
    sgd["intercept" if intercept else "no_intercept"] = {
        "weights": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
        "epochs": int(model.n_iter_),
        "scores": model.decision_function(x_test).tolist(),
    }

roc_scores = np.round(rng.uniform(size=60), 1)
roc_labels = rng.uniform(size=60) < 0.4

print(json.dumps({
    "sklearn_version": sklearn.__version__,
    "x_train": x_train.tolist(),
    "y_train": y_train.tolist(),
    "x_test": x_test.tolist(),
    "gradient_boosting": {
        "init": float(gb._raw_predict_init(x_test[:1])[0, 0]),
        "scores": gb.predict_proba(x_test)[:, 1].tolist(),
        "train_scores": gb.predict_proba(x_train)[:, 1].tolist(),
    },
    "adaboost": {
        "n_stumps": len(ada.estimators_),
        "stump_weights": ada.estimator_weights_[: len(ada.estimators_)].tolist(),
        "scores": ada.predict_proba(x_test)[:, 1].tolist(),
    },
    "sgd": sgd,
    "roc": {
        "scores": roc_scores.tolist(),
        "labels": roc_labels.tolist(),
        "auc": float(roc_auc_score(roc_labels, roc_scores)),
    },
}, indent=1))
