from ehrql import create_dataset, codelist_from_csv
from ehrql.tables.core import patients
from ehrql.tables.tpp import clinical_events, practice_registrations

index_date = "2024-01-01"

hypertension = codelist_from_csv("codelists/nhsd-primary-care-domain-refsets-hyp_cod.csv", column="code")
systolic_bp = codelist_from_csv("codelists/opensafely-systolic-blood-pressure-qof.csv", column="code")

dataset = create_dataset()
registered = practice_registrations.for_patient_on(index_date).exists_for_patient()
has_hypertension = clinical_events.where(clinical_events.snomedct_code.is_in(hypertension)).exists_for_patient()
dataset.define_population(registered & has_hypertension & (patients.age_on(index_date) >= 18))

dataset.age = patients.age_on(index_date)
dataset.sex = patients.sex
latest_bp = (
    clinical_events.where(clinical_events.snomedct_code.is_in(systolic_bp))
    .sort_by(clinical_events.date)
    .last_for_patient()
)
dataset.latest_systolic_bp = latest_bp.numeric_value
dataset.latest_bp_date = latest_bp.date
