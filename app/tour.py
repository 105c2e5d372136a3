"""The guided tour: the story of RNNs in scenes, each a preset view with a caption: eleven
from feed-forward nets to the LSTM's training showdown, then the modern chapter (four).

A scene is data: which page, which settings (applied on top of the defaults, so a scene always
looks the same whatever the visitor changed before), two or three sentences to read aloud,
and what to look at. The tour itself lives in the URL (``scene=N``), so a speaker can put a
link to any scene on a slide.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from app.state import DEFAULTS, Settings


@dataclass(frozen=True)
class Scene:
    title: str
    page: str  # url_path of the page that shows it
    caption: str
    look_at: str
    settings: dict = field(default_factory=dict)
    lab: dict = field(default_factory=dict)  # Training lab widgets (tr_*) the scene sets

    def apply(self, number: int) -> Settings:
        """The scene's settings: defaults, the scene's overrides, and the scene number."""
        return replace(DEFAULTS, **self.settings, scene=number)


# The showdown's whole Training-lab setup (the rest of the lab keeps its defaults). Measured
# on 2 cores, one torch thread per run as the lab trains (benchmarks/tour_showdown.py, seeds
# 0-7): the LSTM leaves the baseline after 400-700 steps and ends at 0.002-0.007 x baseline,
# the RNN at 1.02-1.13 x; both runs together take 24-33 s of CPU. Both share lr 0.01, the
# lab's default (the RNN stays at the baseline with it at T = 50 for 1500 steps as well).
# tests/app/test_tour.py keeps seed 0 true.
SHOWDOWN_LAB = {"tr_task": "adding", "tr_T": 50, "tr_cells": ["rnn", "lstm"],
                "tr_noclip": False, "tr_hidden": 32, "tr_layers": 1, "tr_bidir": False,
                "tr_act": "tanh", "tr_init": "default", "tr_opt": "adam", "tr_lr": 0.01,
                "tr_batch": 64, "tr_steps": 1200, "tr_seed": 0, "tr_clip": "norm",
                "tr_threshold": 1.0, "tr_tbptt": 0}

SCENES: tuple[Scene, ...] = (
    Scene("Feed-forward vs recurrent", "unroll",
          "A feed-forward network maps each input to an output and forgets it. A recurrent "
          "network feeds its hidden state h back into itself, so h_t depends on every input "
          "it has seen.",
          "The orange arrows from each h_t to the next: that loop through time is the whole "
          "difference.",
          {"cell": "rnn", "T": 8, "hidden": 8, "arch": "many-to-many"}),
    Scene("Unrolling in time", "unroll",
          "Unrolling draws one copy of the cell per time step. Every copy shares the same "
          "weights W_ih and W_hh; only the state moves from left to right.",
          "Press Play: the yellow rings walk through time, one copy of the cell at a time.",
          {"cell": "rnn", "T": 12, "hidden": 8, "arch": "many-to-many"}),
    Scene("Four input/output patterns", "unroll",
          "One-to-one is a plain network, and one-to-many generates a sequence (a caption "
          "from an image). Many-to-one reads a sequence and answers once (sentiment). "
          "Many-to-many answers at every step (tagging, translation).",
          "The x and y rows: many-to-one reads an input x_t at every step and has one output "
          "y_t, at the last step.",
          {"cell": "rnn", "T": 10, "hidden": 8, "arch": "many-to-one"}),
    Scene("Backpropagation through time", "gradients",
          "Training is ordinary backpropagation on the unrolled graph. The error at the last "
          "step flows back through every copy, and each weight's gradient is the sum over "
          "all steps.",
          "Press Play: the backward wave walks from the last step to the first.",
          {"cell": "rnn", "T": 30, "loss": "last"}),
    Scene("Vanishing gradients", "gradients",
          "Each step back multiplies the gradient by the Jacobian diag(phi'(a)) W_hh. The "
          "sigmoid's slope is at most 1/4, so the product shrinks geometrically and early "
          "inputs get no credit.",
          "The straight fall on the log axis, under Pascanu's dashed bound: more than twenty "
          "orders of magnitude lost by t = 0.",
          {"cell": "rnn", "act": "sigmoid", "T": 60, "init": "orthogonal", "gain": 2.0}),
    Scene("Exploding gradients", "gradients",
          "When the recurrent weights stretch the state (largest singular value times phi' "
          "above 1), the same product can grow without bound. One step of gradient descent "
          "then throws the weights far away.",
          "The curve climbs as it walks back from the last step: a million times larger at "
          "t = 0, a straight rise on the log axis.",
          {"cell": "rnn", "act": "identity", "init": "orthogonal", "gain": 1.15, "T": 100}),
    Scene("Gradient clipping", "gradients",
          "Clipping by norm rescales the whole gradient when its norm passes a threshold "
          "(Pascanu et al. 2013): the direction is kept, the step stays bounded. Clipping "
          "by value clamps each entry and bends the direction.",
          "The same climbing curve as in the last scene: clipping rescales the weights' "
          "gradient after BPTT, it does not change what flows back through time.",
          {"cell": "rnn", "act": "identity", "init": "orthogonal", "gain": 1.15, "T": 100,
           "clip": "norm", "threshold": 1.0}),
    Scene("LSTM gates", "gates",
          "The LSTM keeps a cell state c_t that the forget gate scales and the input gate "
          "writes to. While f_t stays near 1 the gradient along c_t passes through almost "
          "untouched: that is its long memory.",
          "The forget gate f_t (second panel): untrained, it sits near 0.5, not 1, so the cell "
          "state c_t (bottom panel) forgets the impulse at t = 0 within ten steps. Press Play.",
          {"cell": "lstm", "T": 60, "signal": "impulse"}),
    Scene("GRU", "gates",
          "The GRU folds the gates into two: the update gate z_t blends the old state with "
          "a candidate n_t, and the reset gate r_t decides how much of the past the "
          "candidate sees. z_t near 1 copies the state forward.",
          "The update gate z_t (middle panel): untrained, it sits near 0.5, so each step keeps "
          "half of the old state and takes half of the candidate n_t (bottom panel).",
          {"cell": "gru", "T": 60, "signal": "step"}),
    Scene("Bidirectional and deep", "unroll",
          "A bidirectional layer runs a second network backwards in time and joins both "
          "states, so every output sees the whole sequence. A deep RNN stacks layers, each "
          "reading the states of the layer below.",
          "The rows marked → and ←: in each of the two stacked layers one pass runs forward "
          "in time and one backward.",
          {"cell": "lstm", "layers": 2, "bidir": True, "T": 10, "hidden": 8,
           "arch": "many-to-many"}),
    Scene("A training showdown", "train",
          "On the adding problem the network must remember two marked numbers among 50 and "
          "add them. Trained on the same data for 1200 steps, the vanilla RNN stays at the "
          "baseline (predicting the mean), while the LSTM catches on after a few hundred "
          "steps and ends close to zero.",
          "Press Train; at the end, the ratio to baseline in the results table: about 1 for "
          "the RNN, close to 0 for the LSTM.",
          {}, SHOWDOWN_LAB),
    # The modern chapter, after the story's end so the scene links above keep their numbers.
    Scene("The comeback: a linear recurrence", "gradients",
          "Since 2023 recurrent networks came back by dropping what made them hard to train. "
          "minGRU's gate and candidate read only the input, so h_t = (1 − z_t) h_(t−1) + z_t "
          "h̃_t is linear in the state: each step's Jacobian is diag(1 − z_t) exactly. The "
          "gradient can shrink but never explode, and no bound is needed to say so.",
          "The curve falling at every step back, with no bound drawn: each step multiplies "
          "every channel by its own 1 − z_t, always below 1.",
          {"cell": "mingru", "T": 100}),
    Scene("The parallel scan", "scan",
          "Because a_t and b_t come from the input alone, steps can be grouped in any order: "
          "(a_i, b_i) ∘ (a_j, b_j) = (a_j a_i, a_j b_i + b_j). A tree of such combines gives "
          "all 32 states in 11 rounds (Blelloch: 5 up, drawn here, 5 down and one last) "
          "instead of 32 steps one after another; on a GPU each round runs in parallel, which "
          "is what makes minGRU, LRU and Mamba fast.",
          "The bars widen round by round until one covers all 32 steps, and darken: over a "
          "long span little of the earlier state survives.",
          {"cell": "mingru", "T": 32, "scan": "blelloch"}),
    Scene("Selectivity: Mamba chooses what to keep", "gates",
          "The LRU keeps each channel by a fixed |λ|: the same at every step, whatever comes "
          "in. Mamba's S6 computes its step size Δ_t from the input: a large Δ_t resets a "
          "channel to what it reads now, a small one holds what it had. That choice, made "
          "token by token, is why it can keep the tokens that matter and skip the rest.",
          "The middle panel: every channel's Δ_t rising and falling with the input, by up to "
          "a fifth before any training, where the LRU's |λ| would be one flat colour per row "
          "(top: each channel's own time scale, Δ from about 0.001 to 0.1).",
          {"cell": "s6", "T": 100, "hidden": 16}),
    Scene("From Elman to LRU in five switches", "recipe",
          "The LRU is an Elman RNN changed in five steps: drop tanh, diagonalise W, keep its "
          "eigenvalues complex, write each as λ = exp(−e^ν + iθ) drawn on a ring just inside "
          "the unit circle, and normalise each channel's input by √(1 − |λ|²). Here the first "
          "steps change little (W's eigenvalues are at most 0.55); the ring, |λ| up to 0.99, "
          "is what carries the gradient back.",
          "The purple curve, all five switches on, against the dashed Elman RNN it started "
          "from: at t = 0 about 0.05 of the last step's gradient survives, where the Elman "
          "RNN keeps about 1e-28.",
          {"T": 100, "recipe": "linear,diagonal,complex,exp,normalise"}),
)


def bare_scene_link(params) -> bool:
    """Whether a link's query names a scene and nothing but presenter view: it opens that
    scene's page and settings, whatever path it names (app/talk.py, app/first_paint.py)."""
    return "scene" in params and set(params) <= {"scene", "present", "vh"}


def scene(number: int) -> Scene | None:
    """Scene 1..len(SCENES), or None (0 means no tour)."""
    return SCENES[number - 1] if 1 <= number <= len(SCENES) else None
