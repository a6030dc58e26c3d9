"""The projected L-BFGS: finds box-constrained minima, stays in the box, costs one evaluation
per iteration when steps are good, and stops early once progress stalls."""

import itertools

import numpy as np

from stylecore.optimiser.lbfgs import minimize_in_box


def counted(function):
    calls = []

    def wrapped(x):
        calls.append(x.copy())
        return function(x)

    wrapped.calls = calls
    return wrapped


def quadratic(target, scales):
    """sum(scale * (x - target)^2) / 2: its box minimum is target clipped to the box."""

    def value_and_grad(x):
        r = x - target
        return float(0.5 * np.sum(scales * r * r)), (scales * r).astype(np.float32)

    return value_and_grad


def test_finds_the_constrained_minimum_of_an_ill_conditioned_quadratic():
    rng = np.random.default_rng(0)
    target = rng.uniform(-0.5, 1.5, 2000).astype(np.float32)  # about half lies outside [0, 1]
    scales = rng.uniform(0.1, 100.0, 2000).astype(np.float32)
    f = quadratic(target, scales)
    result = minimize_in_box(f, np.full(2000, 0.5, np.float32), 200)
    best = f(np.clip(target, 0, 1))[0]
    assert result.value - best < 1e-5 * best  # float32 resolution of the value
    assert np.abs(result.x - np.clip(target, 0, 1))[scales > 1].max() < 1e-2


def test_every_evaluated_point_stays_in_the_box():
    f = counted(quadratic(np.full(50, 3.0, np.float32), np.ones(50, np.float32)))
    result = minimize_in_box(f, np.full(50, 0.2, np.float32), 10, lower=0.0, upper=1.0)
    assert all(p.min() >= 0.0 and p.max() <= 1.0 for p in f.calls)
    assert np.allclose(result.x, 1.0)


def test_rosenbrock_converges_and_takes_about_one_evaluation_per_iteration():
    def rosenbrock(x):
        a, b = x[:-1], x[1:]
        value = np.sum(100.0 * (b - a * a) ** 2 + (1 - a) ** 2)
        grad = np.zeros_like(x)
        grad[:-1] = -400.0 * a * (b - a * a) - 2 * (1 - a)
        grad[1:] += 200.0 * (b - a * a)
        return float(value), grad

    f = counted(rosenbrock)
    result = minimize_in_box(f, np.zeros(10, np.float32), 300, lower=-2.0, upper=2.0)
    assert np.abs(result.x - 1.0).max() < 1e-2
    assert result.evaluations == len(f.calls)
    assert result.evaluations < 1.3 * result.iterations


def test_callback_sees_each_accepted_point_and_values_never_rise():
    seen = []
    f = quadratic(np.linspace(-1, 2, 100).astype(np.float32), np.linspace(1, 20, 100))
    result = minimize_in_box(f, np.full(100, 0.5, np.float32), 12, callback=seen.append)
    assert len(seen) == result.iterations == 12
    values = [f(x)[0] for x in seen]
    assert all(later <= earlier for earlier, later in itertools.pairwise(values))
    assert seen[-1] is result.x


def test_a_looser_tolerance_stops_sooner_and_closer_to_the_start():
    rng = np.random.default_rng(1)
    f = quadratic(rng.uniform(-0.5, 1.5, 500), rng.uniform(0.1, 100.0, 500))
    runs = [
        minimize_in_box(f, np.full(500, 0.5, np.float32), 200, tolerance=tolerance)
        for tolerance in (0.0, 1e-4, 1e-1)
    ]
    iterations = [r.iterations for r in runs]
    values = [r.value for r in runs]
    assert 200 > iterations[0] > iterations[1] > iterations[2] > 1
    assert values[0] <= values[1] < values[2]


def test_where_the_loss_curves_downwards_gradient_steps_grow_until_the_bound():
    def concave(x):
        return float(-np.sum(x * x)), (-2.0 * x).astype(np.float32)

    result = minimize_in_box(concave, np.full(100, 0.1, np.float32), 40, first_step=0.01)
    assert np.allclose(result.x, 1.0)
    assert result.iterations <= 10  # a fixed 0.01 stride would need 90
