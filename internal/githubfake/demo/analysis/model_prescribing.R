library(jsonlite)
library(readr)

config <- fromJSON(commandArgs(trailingOnly = TRUE)[1])
dir.create("output/model", recursive = TRUE, showWarnings = FALSE)
dataset <- read_csv("output/dataset.csv.gz")

formula <- reformulate(config$covariates, response = config$outcome)
model <- glm(formula, data = dataset, family = binomial)
sink("output/model/model.log")
print(summary(model))
sink()
write_csv(broom::tidy(model, exponentiate = TRUE, conf.int = TRUE), "output/model/coefficients.csv")
