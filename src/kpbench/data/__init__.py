"""kpbench.data"""
