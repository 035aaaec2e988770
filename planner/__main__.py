from planner.cli.launch import main

main()
