"""Virtual populations: patients as rows of a parameter array, with body sizes."""

from oncotwin.population.sampling import BODY_SIZE, Population, patient_normals, sample_population

__all__ = ["BODY_SIZE", "Population", "patient_normals", "sample_population"]
