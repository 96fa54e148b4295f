"""Capacity and cost on AWS from what the code does (issue 20): a day of a firm simulated on the local
system with every AWS call recorded (record.py, simulate.py), the recorded figures (usage.py) priced
(bill.py, prices.json) and checked against DynamoDB's partition limits and the workers' concurrency
(heat.py, refresh_time.py, limits.json)."""
