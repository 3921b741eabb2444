"""PyMC NUTS engine for every Bayesian model of the package (BLRM, combination BLRM, CRM).

A PyMC model is built **once** per model specification: data enter as ``pm.Data``
containers, and the NUTS step (whose compiled log-density and gradient read those
containers) is kept in a cache keyed by the specification.  Refitting the same model on
new data only calls ``pm.set_data`` and samples again — nothing is recompiled.  Before
each run the step's initial adaptation state is restored, so a fit depends only on the
data and ``random_seed`` (not on earlier fits).

The posterior is the ``arviz.InferenceData`` PyMC returns (``idata.to_netcdf(path)``,
``arviz.from_netcdf(path)``).  Summaries come from the model's own ``summarise`` (shared
with the exact grid engine) applied to the draws with equal weights.  Diagnostics (max
R-hat, min bulk / tail ESS, divergences) are checked; R-hat > 1.01, ESS < 400 or any
divergence raises an :class:`MCMCWarning` and records a flag in
``Estimate.diagnostics["flags"]``; designs append the flags to the fit's ``reason``.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import numpy as np

from .blrm_model import BLRMModel
from .estimate import Estimate

__all__ = [
    "ESS_MIN",
    "RHAT_MAX",
    "MCMCWarning",
    "compiled_model",
    "diagnose",
    "estimate",
    "estimate_crm",
    "sample",
]

RHAT_MAX = 1.01
ESS_MIN = 400


class MCMCWarning(UserWarning):
    """NUTS diagnostics crossed a threshold (R-hat, ESS or divergences)."""


@dataclasses.dataclass
class CompiledModel:
    """A PyMC model with its NUTS step, built once and reused across data sets."""

    model: Any
    step: Any
    initial_state: Any
    data_names: tuple[str, ...]
    var_names: tuple[str, ...]
    derive: Callable[[np.ndarray], dict[str, np.ndarray]] | None = None


_CACHE: dict[Hashable, CompiledModel] = {}


def compiled_model(
    key: Hashable, build: Callable[[], tuple], target_accept: float = 0.9
) -> CompiledModel:
    """The cached model and NUTS step for ``key`` (built with ``build()`` on first use).

    ``build`` returns the ``pm.Model``, the names of the variables to report and,
    optionally, a function deriving the model parameters from the draws of the whitened
    vector ``z`` (computed in NumPy after sampling rather than as ``pm.Deterministic``,
    which would compile and evaluate one more function per draw).
    """
    import pymc as pm

    full_key = (key, float(target_accept))
    hit = _CACHE.get(full_key)
    if hit is not None:
        return hit
    model, var_names, *rest = build()
    with model:
        step = pm.NUTS(target_accept=target_accept)
    data_names = tuple(v.name for v in model.data_vars)
    derive = rest[0] if rest else None
    hit = CompiledModel(model, step, step.sampling_state, data_names, tuple(var_names), derive)
    _CACHE[full_key] = hit
    return hit


def sample(
    compiled: CompiledModel,
    data: Mapping[str, np.ndarray],
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    random_seed: int | None = None,
    progressbar: bool = False,
) -> Any:
    """Set the data and run NUTS (``cores=1``); returns the ``arviz.InferenceData``."""
    import pymc as pm

    if draws < 1 or tune < 0 or chains < 1:
        raise ValueError(
            f"pymc engine: need draws >= 1, tune >= 0, chains >= 1 (got {draws}, {tune}, {chains})"
        )
    missing = set(compiled.data_names) - set(data)
    if missing:
        raise ValueError(f"pymc engine: data missing {sorted(missing)}")
    with compiled.model:
        pm.set_data({k: np.asarray(v, dtype=float) for k, v in data.items()})
        compiled.step.sampling_state = compiled.initial_state
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*samples per chain.*")
            idata = pm.sample(
                draws=int(draws),
                tune=int(tune),
                chains=int(chains),
                cores=1,
                step=compiled.step,
                random_seed=random_seed,
                progressbar=progressbar,
                compute_convergence_checks=False,
                quiet=not progressbar,
            )
    if compiled.derive is not None:
        for name, values in compiled.derive(idata.posterior["z"].values).items():
            idata.posterior[name] = (("chain", "draw"), values)
    # how the draws were made: saved with the posterior so a NetCDF file can be reproduced
    idata.posterior.attrs.update(
        bayes_dose_sampler=json.dumps(
            {"draws": int(draws), "tune": int(tune), "chains": int(chains), "cores": 1,
             "random_seed": random_seed, "target_accept": compiled.step.target_accept}
        )
    )  # fmt: skip
    return idata


def diagnose(
    idata: Any, var_names: tuple[str, ...], rhat_max: float = RHAT_MAX, ess_min: float = ESS_MIN
) -> dict[str, Any]:
    """Max R-hat, min bulk / tail ESS, divergences and the flags they raise.

    R-hat needs at least two chains (it is NaN, and not flagged, with one).
    """
    import arviz as az

    names = list(var_names)
    rhat = az.rhat(idata, var_names=names)
    bulk = az.ess(idata, var_names=names, method="bulk")
    tail = az.ess(idata, var_names=names, method="tail")

    def ext(ds: Any, f: Callable) -> float:
        vals = np.concatenate([np.ravel(ds[v].values) for v in names])
        vals = vals[np.isfinite(vals)]
        return float(f(vals)) if vals.size else float("nan")

    diverging = idata.sample_stats["diverging"].values
    out: dict[str, Any] = {
        "max_rhat": ext(rhat, np.max),
        "min_ess_bulk": ext(bulk, np.min),
        "min_ess_tail": ext(tail, np.min),
        "divergences": int(np.sum(diverging)),
        "chains": int(diverging.shape[0]),
        "draws": int(diverging.shape[1]),
    }
    flags = []
    if out["max_rhat"] > rhat_max:
        flags.append(f"max R-hat {out['max_rhat']:.3f} > {rhat_max}")
    if out["min_ess_bulk"] < ess_min:
        flags.append(f"min bulk ESS {out['min_ess_bulk']:.0f} < {ess_min}")
    if out["min_ess_tail"] < ess_min:
        flags.append(f"min tail ESS {out['min_ess_tail']:.0f} < {ess_min}")
    if out["divergences"]:
        flags.append(f"{out['divergences']} divergent transition(s)")
    out["flags"] = tuple(flags)
    if flags:
        warnings.warn("PyMC fit: " + "; ".join(flags), MCMCWarning, stacklevel=3)
    return out


def _draws(idata: Any, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    post = idata.posterior
    return {n: np.asarray(post[n].values, dtype=float).reshape(-1) for n in names}


def run(
    key: Hashable,
    build: Callable[[], tuple],
    data: Mapping[str, np.ndarray],
    summarise: Callable[[dict[str, np.ndarray], np.ndarray], Estimate],
    param_names: tuple[str, ...],
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    random_seed: int | None = None,
    target_accept: float = 0.9,
    progressbar: bool = False,
    rhat_max: float = RHAT_MAX,
    ess_min: float = ESS_MIN,
) -> Estimate:
    """Sample a cached model on ``data`` and summarise the draws with equal weights."""
    cm = compiled_model(key, build, target_accept)
    idata = sample(
        cm, data, draws=draws, tune=tune, chains=chains, random_seed=random_seed,
        progressbar=progressbar,
    )  # fmt: skip
    diag = diagnose(idata, cm.var_names, rhat_max, ess_min)
    values = _draws(idata, param_names)
    S = next(iter(values.values())).shape[0]
    est = summarise(values, np.full((1, S), 1.0 / S))
    return dataclasses.replace(est, engine="pymc", posterior=idata, diagnostics=diag)


def _single_trial(counts: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    data = {}
    for arm, (n, y) in counts.items():
        n = np.atleast_2d(np.asarray(n))
        y = np.atleast_2d(np.asarray(y))
        if n.shape[0] != 1:
            raise ValueError(
                f"pymc engine: analyses one trial at a time, got {n.shape[0]} (use the grid engine)"
            )
        data[f"n_{arm}"] = n[0].astype(float)
        data[f"y_{arm}"] = y[0].astype(float)
    return data


# -- BLRM ---------------------------------------------------------------------------------


def _blrm_terms(prior: Any, z0: Any, z1: Any) -> tuple[Any, Any]:
    (ma, mb), (sa, sb), r = prior.mean, prior.sd, prior.corr
    log_beta = mb + sb * z0
    log_alpha = ma + sa * (r * z0 + np.sqrt(1.0 - r * r) * z1)
    return log_alpha, log_beta


def _binomial_loglik(n: Any, y: Any, eta: Any) -> Any:
    import pytensor.tensor as pt

    return pt.sum(y * -pt.softplus(-eta) + (n - y) * -pt.softplus(eta))


def _build_blrm(m: BLRMModel) -> tuple:
    import pymc as pm
    import pytensor.tensor as pt

    D = m.n_doses
    with pm.Model() as model:
        n = pm.Data("n_arm", np.zeros(D))
        y = pm.Data("y_arm", np.zeros(D))
        z = pm.Normal("z", 0.0, 1.0, shape=2)
        la, lb = _blrm_terms(m.prior, z[0], z[1])
        eta = la + pt.exp(lb) * m.x
        pm.Potential("loglik", _binomial_loglik(n, y, eta))

    def derive(z: np.ndarray) -> dict[str, np.ndarray]:
        la, lb = _blrm_terms(m.prior, z[..., 0], z[..., 1])
        return {"log_alpha": la, "log_beta": lb}

    return model, ("log_alpha", "log_beta"), derive


def _build(model: Any) -> Callable[[], tuple]:
    if isinstance(model, BLRMModel):
        return lambda: _build_blrm(model)
    from .combo_blrm_model import CombinationModel

    if isinstance(model, CombinationModel):
        return lambda: _build_combo(model)
    raise ValueError(f"pymc engine: no PyMC model for {type(model).__name__}")


def estimate(
    model: Any, counts: Mapping[str, tuple[np.ndarray, np.ndarray]], **kwargs: Any
) -> Estimate:
    """PyMC estimate of a BLRM-family model on one trial's counts.

    Parameters
    ----------
    model : BLRMModel or CombinationModel
    counts : mapping arm -> (n, y)
        Patients and DLTs per dose of each arm of the model (shape (1, D) or (D,)).
    **kwargs
        ``draws``, ``tune``, ``chains``, ``random_seed``, ``target_accept``,
        ``progressbar``, ``rhat_max``, ``ess_min``.
    """
    data = _single_trial(counts)
    for arm in model.arms:
        D = len(model.arm_doses(arm)) if hasattr(model, "arm_doses") else model.n_doses
        data.setdefault(f"n_{arm}", np.zeros(D))
        data.setdefault(f"y_{arm}", np.zeros(D))

    def summ(values: dict[str, np.ndarray], w: np.ndarray) -> Estimate:
        return model.summarise(values, w, intervals=True, engine="pymc")

    return run(model, _build(model), data, summ, model.param_names, **kwargs)


# -- combination BLRM --------------------------------------------------------------------


def _build_combo(m: Any) -> tuple:
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model() as model:
        data = {}
        for arm in m.arms:
            D = len(m.arm_doses(arm))
            data[arm] = (pm.Data(f"n_{arm}", np.zeros(D)), pm.Data(f"y_{arm}", np.zeros(D)))
        z = pm.Normal("z", 0.0, 1.0, shape=4)
        params = _combo_params(m, z[0], z[1], z[2], z[3])
        total = 0.0
        for arm, (n, y) in data.items():
            total = total + _binomial_loglik(n, y, m.arm_logit(params, arm, xp=pt))
        pm.Potential("loglik", total)

    def derive(z: np.ndarray) -> dict[str, np.ndarray]:
        return _combo_params(m, z[..., 0], z[..., 1], z[..., 2], z[..., 3])

    return model, m.param_names, derive


def _combo_params(m: Any, z0: Any, z1: Any, z2: Any, z3: Any) -> dict[str, Any]:
    la, lb = _blrm_terms(m.mono.prior, z0, z1)
    return {
        "log_alpha": la,
        "log_beta": lb,
        "logit_partner": m.partner_prior.mean + m.partner_prior.sd * z2,
        "eta": m.interaction_prior.mean + m.interaction_prior.sd * z3,
    }


# -- CRM ---------------------------------------------------------------------------------


def _crm_attr(model: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if hasattr(model, n):
            return getattr(model, n)
    return default


def _build_crm(
    skeleton: tuple[float, ...], link: str, prior_mean: float, prior_sd: float, intercept: float
) -> tuple[Any, tuple[str, ...]]:
    import pymc as pm
    import pytensor.tensor as pt

    s = np.asarray(skeleton, dtype=float)
    with pm.Model() as model:
        dose = pm.Data("patient_dose", np.zeros(1, dtype=float))
        y = pm.Data("patient_dlt", np.zeros(1))
        w = pm.Data("patient_weight", np.zeros(1))
        beta = pm.Normal("beta", prior_mean, prior_sd)
        idx = pt.cast(dose, "int64")
        if link == "empiric":
            # p_i = s_i ** exp(beta)
            log_p = pt.exp(beta) * pt.as_tensor(np.log(s))[idx]
        else:
            # logit p_i = a0 + exp(beta) x_i with x_i = logit(s_i) - a0
            x = pt.as_tensor(np.log(s / (1 - s)) - intercept)
            log_p = -pt.softplus(-(intercept + pt.exp(beta) * x[idx]))
        p = pt.exp(log_p)
        # weighted (TITE) likelihood: p^y (1 - w p)^(1 - y); w = 1 for complete follow-up
        pm.Potential("loglik", pt.sum(y * log_p + (1 - y) * pt.log1p(-w * p)))
    return model, ("beta",)


def estimate_crm(model: Any, data: Any, **kwargs: Any) -> Estimate:
    """PyMC estimate of the one-parameter CRM (empiric or logistic link).

    The likelihood is per patient: ``y log p + (1 - y) log(1 - w p)`` with ``w`` the
    TITE follow-up weight carried by the data (1 for complete follow-up, so without TITE
    it is the binomial likelihood).

    Parameters
    ----------
    model : CRMModel
        Provides ``skeleton``, ``model`` (``"empiric"`` / ``"logistic"``), ``prior_sd``
        (prior ``beta ~ N(0, prior_sd^2)``), ``intercept`` (logistic) and
        ``summarise(beta_values, weights, target, ...)``.
    data : DoseData
        One trial; patient-level arrays (with ``patient_weight`` for TITE) when present,
        else per-dose counts.
    **kwargs
        Sampler settings (``draws``, ``tune``, ``chains``, ``random_seed``,
        ``target_accept``, ``progressbar``, ``rhat_max``, ``ess_min``); the rest (e.g.
        ``target``, ``interval``) is passed to ``model.summarise``.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> crm = bd.CRM([0.05, 0.1, 0.2, 0.35], target=0.2, cohort_size=1)
    >>> fit = crm.fit(bd.Outcomes.parse("1N 2N 3T"), engine="pymc", draws=200, tune=200,
    ...               chains=2, random_seed=1, ess_min=0, rhat_max=1.1)
    >>> fit.estimate.engine, fit.posterior.posterior["beta"].shape
    ('pymc', (2, 200))
    """
    sampler_keys = ("draws", "tune", "chains", "random_seed", "target_accept", "progressbar",
                    "rhat_max", "ess_min")  # fmt: skip
    skw = {k: kwargs.pop(k) for k in sampler_keys if k in kwargs}
    if data.n_trials != 1:
        raise ValueError(f"estimate_crm: analyses one trial at a time, got {data.n_trials}")
    if data.patient_dose is not None:
        keep = data.patient_dose[0] >= 0
        dose = data.patient_dose[0][keep]
        y = data.patient_dlt[0][keep]
        w = np.ones(dose.shape) if data.patient_weight is None else data.patient_weight[0][keep]
    else:
        dose = np.repeat(np.arange(data.n_doses), data.n[0])
        y = np.concatenate(
            [
                np.r_[np.ones(k), np.zeros(m - k)]
                for m, k in zip(data.n[0], data.dlt[0], strict=True)
            ]
        )
        w = np.ones(dose.shape)
    skeleton = tuple(float(s) for s in np.asarray(model.skeleton))
    link = str(_crm_attr(model, "link", "model", default="empiric"))
    if link not in ("empiric", "logistic"):
        raise ValueError(f"estimate_crm: link must be 'empiric' or 'logistic', got {link!r}")
    prior_mean = float(_crm_attr(model, "prior_mean", default=0.0))
    prior_sd = float(_crm_attr(model, "prior_sd", default=1.34**0.5))
    intercept = float(_crm_attr(model, "intercept", "intcpt", default=3.0))
    key = ("crm", skeleton, link, prior_mean, prior_sd, intercept)
    payload = {
        "patient_dose": dose.astype(float),
        "patient_dlt": y.astype(float),
        "patient_weight": np.asarray(w, dtype=float),
    }

    def summ(values: dict[str, np.ndarray], weights: np.ndarray) -> Estimate:
        return model.summarise(values["beta"][None, :], None, engine="pymc", **kwargs)

    return run(
        key, lambda: _build_crm(skeleton, link, prior_mean, prior_sd, intercept), payload,
        summ, ("beta",), **skw,
    )  # fmt: skip
