library(arrow)
library(ggplot2)

dataset <- read_feather("output/dataset.arrow")
dataset$controlled <- dataset$latest_systolic_bp < 140
dataset$year <- as.integer(format(dataset$latest_bp_date, "%Y"))

model <- glm(controlled ~ age + sex + factor(year), data = dataset, family = binomial)
write.csv(broom::tidy(model, exponentiate = TRUE, conf.int = TRUE), "output/model_coefficients.csv", row.names = FALSE)

plot <- ggplot(dataset, aes(x = factor(year), fill = controlled)) + geom_bar(position = "fill")
ggsave("output/bp_control_by_year.png", plot, width = 8, height = 5)
