//! Whether labelled images fit a network: the one check of image shape, label count and
//! label range that training, profiling, attacks and the command line share.

use crate::error::FitIssue;
use crate::graph::Network;

impl Network {
    /// Checks that `images` (the shape of a batch: the image count, then one image's shape)
    /// with `labels` fit the network: one label per image, the image shape equal to the
    /// network's input shape, every label one of its classes. `first` is the data-set index
    /// of the first image (it only numbers the image in the error). Labels are class indices
    /// (`usize`, the `effpath_data::Label` of every data set).
    ///
    /// ```
    /// use effpath_ir::FitIssue;
    /// let net = effpath_ir::zoo::lenet5(0);
    /// assert_eq!(net.check_labelled(&[2, 1, 28, 28], &[3, 9], 0), Ok(()));
    /// assert_eq!(
    ///     net.check_labelled(&[2, 1, 28, 28], &[3, 10], 100),
    ///     Err(FitIssue::Label { index: 101, label: 10, classes: 10 })
    /// );
    /// assert!(matches!(
    ///     net.check_labelled(&[1, 3, 28, 28], &[0], 0),
    ///     Err(FitIssue::ImageShape { .. })
    /// ));
    /// ```
    pub fn check_labelled(
        &self,
        images: &[usize],
        labels: &[usize],
        first: usize,
    ) -> Result<(), FitIssue> {
        let (count, shape) = images.split_first().unwrap_or((&0, &[]));
        if shape != self.input_shape() {
            return Err(FitIssue::ImageShape {
                expected: self.input_shape().to_vec(),
                got: shape.to_vec(),
            });
        }
        if labels.len() != *count {
            return Err(FitIssue::LabelCount {
                images: *count,
                labels: labels.len(),
            });
        }
        let classes = self.num_classes();
        match labels.iter().position(|&l| l >= classes) {
            Some(i) => Err(FitIssue::Label {
                index: first + i,
                label: labels[i],
                classes,
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::FitIssue;

    #[test]
    fn labelled_images_fit_or_say_why() {
        let net = crate::zoo::lenet5(0);
        assert_eq!(net.check_labelled(&[0, 1, 28, 28], &[], 0), Ok(()));
        assert_eq!(
            net.check_labelled(&[2, 1, 28, 28], &[1], 0),
            Err(FitIssue::LabelCount {
                images: 2,
                labels: 1
            })
        );
        assert_eq!(
            net.check_labelled(&[1, 1, 27, 28], &[1], 0),
            Err(FitIssue::ImageShape {
                expected: vec![1, 28, 28],
                got: vec![1, 27, 28]
            })
        );
        assert!(net.check_labelled(&[], &[], 0).is_err());
        let e = net.check_labelled(&[1, 1, 28, 28], &[12], 5);
        assert_eq!(
            e.map_err(|e| e.to_string()),
            Err("label 12 of image 5 is not a class of the network (10 classes)".into())
        );
    }
}
