from kpbench.cli import main

main()
