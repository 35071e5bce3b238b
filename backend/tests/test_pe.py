"""The static Laplacian PE: the documented rule (docs/ir.md), its properties, and the lab's exported buffer."""
from __future__ import annotations

import numpy as np

from ictal_backend.pe import _cluster_basis, laplacian_pe, normalized_laplacian
from graph_fixtures import ts_graph_doc

# V3_MODEL.md's 24 structural edges, by name, on its 19-channel order.
NAMES = "Fp1 F3 C3 P3 F7 T3 T5 O1 Fz Cz Pz Fp2 F4 C4 P4 F8 T4 T6 O2".split()
EDGES_BY_NAME = ("Fp1-F3 Fp1-F7 Fp2-F4 Fp2-F8 F3-C3 C3-P3 F4-C4 C4-P4 F7-T3 T3-T5 F8-T4 T4-T6 P3-O1 T5-O1 P4-O2 "
                 "T6-O2 Fz-Cz Cz-Pz F3-Fz Fz-F4 C3-Cz Cz-C4 P3-Pz Pz-P4").split()
EDGES = [[NAMES.index(a), NAMES.index(b)] for a, b in (e.split("-") for e in EDGES_BY_NAME)]


def test_pe_is_an_orthonormal_set_of_nontrivial_eigenvectors():
    pe = laplacian_pe(19, EDGES, 16)
    lap = normalized_laplacian(19, EDGES)
    assert pe.shape == (19, 16)
    assert np.allclose(pe.T @ pe, np.eye(16), atol=1e-12)
    values = np.linalg.eigvalsh(lap)
    rayleigh = np.diag(pe.T @ lap @ pe)
    assert np.allclose(lap @ pe, pe * rayleigh, atol=1e-12)          # eigenvectors
    assert np.allclose(rayleigh, values[1:17], atol=1e-12)           # the 16 after the trivial one, ascending
    assert abs(values[0]) < 1e-12 and abs(values[-1] - 2) < 1e-12     # connected and bipartite
    assert np.isclose(values[1], 0.0824, atol=5e-5)                  # V3_MODEL.md's figure


def test_pe_follows_the_sign_rule_and_is_identical_every_time():
    pe = laplacian_pe(19, EDGES, 16)
    for c in range(16):
        v = pe[:, c]
        pivot = np.flatnonzero(np.abs(v) >= np.abs(v).max() - 1e-9)[0]
        assert v[pivot] > 0
    assert np.array_equal(pe, laplacian_pe(19, EDGES, 16))


def test_degenerate_eigenspace_basis_does_not_depend_on_the_solver_basis():
    """Eigenvalue 1 has multiplicity 3 here: any rotation of its eigenvectors must give the same basis."""
    lap = normalized_laplacian(19, EDGES)
    values, vectors = np.linalg.eigh(lap)
    cluster = np.flatnonzero(np.abs(values - 1) < 1e-8)
    assert len(cluster) == 3
    q = vectors[:, cluster]
    rotation, _ = np.linalg.qr(np.random.default_rng().standard_normal((3, 3)))
    a, b = _cluster_basis(q), _cluster_basis(q @ rotation)
    assert np.allclose(np.stack(a), np.stack(b), atol=1e-12)


def test_pe_matches_the_buffer_the_lab_exports():
    doc = ts_graph_doc()
    node = next(n for n in doc["nodes"] if n["op"] == "laplacian_pe")
    assert sorted(map(sorted, node["attrs"]["edges"])) == sorted(map(sorted, EDGES))
    exported = np.array(doc["buffers"][node["buffers"]["value"]]["values"]).reshape(19, 16)
    assert np.abs(laplacian_pe(19, node["attrs"]["edges"], 16) - exported).max() <= 1e-12
