"""Named training recipes: the TrainOptions fields a recipe fixes, one place for `train`, `table1` and the README.

``fashion-mnist`` is the default of ``attendnets train --dataset fashion-mnist`` and of ``table1``:
full 60,000-image epochs, a float phase long enough for the float network to converge, then a
short QAT phase from it at a tenth of the learning rate (QAT starts near a good solution: a high
rate would first undo it), label smoothing 0.1, shifts of up to 2 pixels and left-right flips
(clothes keep their class in a mirror; the images are already centred, so small shifts suffice),
and the learning curve on the val split after every epoch.  No weight decay: these 20-80K-parameter
networks underfit (training accuracy stays below val accuracy under augmentation), so more
regularisation does not help them.  ``short`` is the earlier 5-epoch recipe of the first Table 1,
kept to reproduce it.  Options given explicitly override the recipe's.
"""
from __future__ import annotations

RECIPES = {
    "fashion-mnist": {"float_epochs": 25, "epochs": 4, "train_images": None, "batch_size": 128, "lr": 3e-3,
                      "qat_lr": 3e-4, "label_smoothing": 0.1, "weight_decay": 0.0, "augment": "shift",
                      "validate": True},
    "short": {"float_epochs": 3, "epochs": 2, "train_images": 15000, "batch_size": 64, "lr": 3e-3, "qat_lr": None,
              "label_smoothing": 0.0, "weight_decay": 0.0, "augment": "shift", "validate": False},
}
DEFAULT = {"fashion-mnist": "fashion-mnist"}  # dataset -> recipe used when none is named


def recipe_fields(name: str) -> dict:
    """A copy of recipe NAME's fields; a ValueError naming the known recipes otherwise."""
    if name not in RECIPES:
        raise ValueError(f"--recipe: unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    return dict(RECIPES[name])


def describe(fields: dict) -> str:
    """One sentence of a recipe's fields, for tables and logs."""
    images = f"{fields['train_images']:,} random training images" if fields.get("train_images") else "all 60,000 images"
    qat_lr = fields.get("qat_lr") or fields["lr"]
    extras = [f"label smoothing {fields['label_smoothing']:g}" if fields.get("label_smoothing") else "",
              f"weight decay {fields['weight_decay']:g}" if fields.get("weight_decay") else "",
              f"augmentation '{fields.get('augment') or 'default'}'"]
    return (f"{fields['float_epochs']} float epochs, then {fields['epochs']} QAT epochs starting from the float "
            f"network; each epoch {images}; batch {fields['batch_size']}, Adam{'W' if fields.get('weight_decay') else ''}, "
            f"peak lr {fields['lr']:g} (float) and {qat_lr:g} (QAT), cosine per phase; "
            + ", ".join(e for e in extras if e))
