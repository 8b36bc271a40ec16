"""dist: data-parallel training on torchrun workers, where each step's time goes, and when it pays.

Beside train in the data's path: dist may import train, models and data; train never imports dist.
"""
