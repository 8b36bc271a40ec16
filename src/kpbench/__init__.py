"""kpbench: where to train a facial-keypoint CNN, how long it takes, what it costs."""

__version__ = "0.1.0"
