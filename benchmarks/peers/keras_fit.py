"""Peer: TensorFlow/Keras ``model.fit`` of the seed network, the way the Kaggle tutorials train it.

conv 32@3x3 → pool 2 → conv 64@2x2 → pool → conv 128@2x2 → pool → dense 500 → dense 500 → 30,
ReLU, valid padding; Adam, MSE; whole arrays handed to fit(), no validation.
Prints one JSON line: steady-state images/s over epochs 2..N (epoch 1 holds tracing and
warm-up), timed by a callback at epoch edges. Needs only numpy and tensorflow, so it runs
under any Python that has TensorFlow (``peers.py --keras-python``); without TensorFlow it
prints ``{"skipped": ...}`` and exits 0.

    python keras_fit.py --data faces.npz --epochs 3 --batch-size 32 --precision fp32|bf16
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's banner off stdout/stderr


def build_seed_net(tf):
    layers = tf.keras.layers
    return tf.keras.Sequential(
        [
            tf.keras.Input((96, 96, 1)),
            layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(64, 2, activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(128, 2, activation="relu"), layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(500, activation="relu"),
            layers.Dense(500, activation="relu"),
            layers.Dense(30, dtype="float32"),  # outputs in fp32 under mixed precision, as Keras advises
        ]
    )


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="npz with images uint8 (N,96,96), keypoints float32 (N,15,2)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    try:
        import tensorflow as tf
    except ImportError as e:
        print(json.dumps({"skipped": f"TensorFlow not importable by {sys.executable}: {e}"}))
        return 0
    import numpy as np

    tf.keras.utils.set_random_seed(args.seed)
    if args.precision == "bf16":
        tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    d = np.load(args.data)
    x = d["images"][..., None].astype(np.float32) / 255.0
    y = ((d["keypoints"].reshape(len(x), 30) - 48.0) / 48.0).astype(np.float32)
    model = build_seed_net(tf)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse")

    class EpochTimer(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch_s = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):  # no validation: the epoch is training only
            self.epoch_s.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0, callbacks=[timer])
    steady_s = timer.epoch_s[1:] or timer.epoch_s
    print(json.dumps({
        "peer": f"keras-{args.precision}",
        "images_per_s": len(x) * len(steady_s) / sum(steady_s),
        "epoch_s": timer.epoch_s,
        "images": int(len(x)),
        "tensorflow": tf.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
