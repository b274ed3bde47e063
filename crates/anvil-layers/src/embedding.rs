//! Embedding (torch.nn.Embedding): a row gather forward, a scatter-add of the output gradient into
//! the weight gradient backward; the `padding_idx` row gets no gradient.

use crate::{expect_len, invalid, ShapeError};

fn check(indices: &[u32], num: usize, dim: usize, w: usize, y: usize) -> Result<(), ShapeError> {
    expect_len("weight", w, num * dim)?;
    expect_len("output", y, indices.len() * dim)?;
    match indices.iter().find(|&&i| i as usize >= num) {
        Some(bad) => Err(invalid(format!("Embedding: index {bad} is out of range for num_embeddings={num}"))),
        None => Ok(()),
    }
}

/// `y[i] = W[indices[i]]` for W [num_embeddings, dim].
pub fn forward(indices: &[u32], w: &[f32], num_embeddings: usize, dim: usize, y: &mut [f32]) -> Result<(), ShapeError> {
    check(indices, num_embeddings, dim, w.len(), y.len())?;
    if dim == 0 {
        return Ok(());
    }
    for (row, &i) in y.chunks_exact_mut(dim).zip(indices) {
        row.copy_from_slice(&w[i as usize * dim..][..dim]);
    }
    Ok(())
}

/// `dW[indices[i]] += dy[i]`, skipping `padding_idx`.
pub fn backward(indices: &[u32], dy: &[f32], num_embeddings: usize, dim: usize, padding_idx: Option<u32>, dw: &mut [f32]) -> Result<(), ShapeError> {
    check(indices, num_embeddings, dim, dw.len(), dy.len())?;
    if dim == 0 {
        return Ok(());
    }
    for (g, &i) in dy.chunks_exact(dim).zip(indices) {
        if Some(i) == padding_idx {
            continue;
        }
        dw[i as usize * dim..][..dim].iter_mut().zip(g).for_each(|(a, &v)| *a += v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check as gradcheck, data, dot};

    #[test]
    fn gathers_rows_and_backward_matches_finite_differences() {
        let w = data(4 * 3, 1);
        let idx = [2u32, 0, 2, 3];
        let mut y = vec![0.0; 12];
        forward(&idx, &w, 4, 3, &mut y).unwrap();
        assert_eq!(&y[..3], &w[6..9]);
        let r = data(12, 2);
        let mut dw = vec![0.0; 12];
        backward(&idx, &r, 4, 3, Some(3), &mut dw).unwrap();
        assert_eq!(&dw[9..], &[0.0; 3], "padding_idx row gets no gradient");
        let mut full = vec![0.0; 12];
        backward(&idx, &r, 4, 3, None, &mut full).unwrap();
        gradcheck("dW", &w, &full, 1e-2, 1e-3, |v| {
            let mut y = vec![0.0; 12];
            forward(&idx, v, 4, 3, &mut y).unwrap();
            dot(&y, &r)
        });
        assert!(forward(&[4], &w, 4, 3, &mut [0.0; 3]).unwrap_err().0.contains("index 4"));
    }
}
