"""kpbench.report"""
