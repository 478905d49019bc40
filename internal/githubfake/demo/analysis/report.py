import pandas as pd

summary = pd.read_csv("output/population_summary.csv")
coefficients = pd.read_csv("output/model_coefficients.csv")
with open("output/report.html", "w") as report:
    report.write("<h1>Blood pressure control in hypertension</h1>")
    report.write(summary.to_html(index=False))
    report.write(coefficients.to_html(index=False))
    report.write('<img src="bp_control_by_year.png" alt="Share of patients with controlled blood pressure by year">')
