"""scaling: the scaling study (`kpbench dist scale`): where a data-parallel step's time goes, and when it pays.

Above train in the data's path: scaling may import train (its torchrun launcher, train/launch.py),
models and data; train never imports scaling. alphabeta.py is the α-β cost model of the all-reduce.
"""
