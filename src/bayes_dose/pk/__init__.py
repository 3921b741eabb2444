"""Pharmacokinetics: NCA, dose proportionality (frequentist and Bayesian), study power.

* :func:`nca` -- Cmax, Tmax, Ctrough, AUC0-t, AUCtau, half-life, accumulation per subject
  and cycle from a concentration listing (:func:`bayes_dose.listings.read_pc`);
* :func:`dose_proportionality` -- power model ``ln(PK) = a + b ln(dose)`` with the
  Smith et al. (2000) confidence-interval criterion;
* :func:`fit_dose_exposure`, :func:`compare_dose_exposure`, :func:`exposure_plateau` --
  Bayesian power and Emax models (PyMC, between-subject variability, LOO) and the
  posterior of the exposure-plateau dose;
* :func:`power_dp`, :func:`sample_size_dp` -- power and sample size of a
  dose-proportionality study (as PowerTOST ``power.dp`` / ``sampleN.dp``).
"""

from .dp_power import DPSampleSize, power_dp, sample_size_dp, slope_limits
from .exposure import ExposurePlateau, compare_dose_exposure, exposure_plateau, fit_dose_exposure
from .nca import NCA_COLUMNS, PARAMETERS, RULES, auc_interval, lambda_z, nca
from .proportionality import DoseProportionality, dose_proportionality

__all__ = [
    "NCA_COLUMNS",
    "PARAMETERS",
    "RULES",
    "DPSampleSize",
    "DoseProportionality",
    "ExposurePlateau",
    "auc_interval",
    "compare_dose_exposure",
    "dose_proportionality",
    "exposure_plateau",
    "fit_dose_exposure",
    "lambda_z",
    "nca",
    "power_dp",
    "sample_size_dp",
    "slope_limits",
]
