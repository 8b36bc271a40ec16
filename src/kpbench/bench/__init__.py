"""kpbench.bench"""
