from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

out = Path("output/describe")
out.mkdir(parents=True, exist_ok=True)
dataset = pd.read_csv("output/dataset.csv.gz")

table1 = dataset.groupby(["sex", "age_band"]).agg(patients=("antibiotic_prescribed", "size"), prescribed=("antibiotic_prescribed", "sum"))
# Round counts to the nearest 5 before they leave the backend.
table1 = (table1 / 5).round() * 5
table1.to_csv(out / "table1.csv")

for sex, group in dataset.groupby("sex"):
    group["age_band"].plot.hist(bins=10, title=f"Age bands ({sex})")
    plt.savefig(out / f"age_{sex}.png")
    plt.close()
