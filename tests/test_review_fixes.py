"""Regression tests for bugs found in review: each test failed before its fix."""

import pytest
import torch
import torch.nn.functional as F

import losskit
import losskit.functional as LF
from helpers import assert_close




def test_overlap_multiclass_1d_input_message_names_no_made_up_shape():
    # a (C,) input used to be told "for this input that is target (3,) or (3,)"
    with pytest.raises(ValueError, match=r"expects input \(N, C, \*\).*got input \(3,\) and target \(\)") as e:
        LF.dice_loss(torch.randn(3), torch.tensor(1))
    assert "for this input" not in str(e.value)
