"""kpbench.models"""
