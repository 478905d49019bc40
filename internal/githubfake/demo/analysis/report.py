from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

out = Path("output/report")
out.mkdir(parents=True, exist_ok=True)
table1 = pd.read_csv("output/describe/table1.csv")
coefficients = pd.read_csv("output/model/coefficients.csv")
measures = pd.read_csv("output/measures.csv")

for sex, group in measures.groupby("sex"):
    plt.plot(group["interval_start"], group["ratio"], label=sex)
plt.legend()
plt.title("Antibiotic prescribing by month")
plt.savefig(out / "figure_prescribing.svg")

with open(out / "report.html", "w") as report:
    report.write("<h1>Antibiotic prescribing before and after the pandemic</h1>")
    report.write(table1.to_html(index=False))
    report.write(coefficients.to_html(index=False))
    report.write('<img src="figure_prescribing.svg" alt="Monthly rate of antibiotic prescribing by sex">')
