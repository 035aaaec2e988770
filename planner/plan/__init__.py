"""Cost per mode, turnaround, eligibility, deadline and budget plans: the estimate."""
