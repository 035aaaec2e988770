from planner.launch import main

main()
