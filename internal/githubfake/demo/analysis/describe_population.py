import pandas as pd

dataset = pd.read_feather("output/dataset.arrow")
dataset["controlled"] = dataset["latest_systolic_bp"] < 140
summary = dataset.groupby("sex").agg(patients=("age", "size"), mean_age=("age", "mean"), controlled=("controlled", "mean"))
# Round counts to the nearest 5 before they leave the backend.
summary["patients"] = (summary["patients"] / 5).round() * 5
summary.to_csv("output/population_summary.csv")
