"""kpbench.cost"""
