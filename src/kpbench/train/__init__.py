"""kpbench.train"""
