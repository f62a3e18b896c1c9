//! Errors of the Images engine, each with the numeric code production's
//! `ImagesError.code` carries.

use std::fmt::Display;

use crate::errors::{to_napi, ErrorCode};

/// An Images failure. `lib/bindings/images.ts` turns it into production's
/// `ImagesError` with the message `IMAGES_<OPERATION>_ERROR <status>: <message>`.
#[derive(Debug)]
pub enum ImagesError {
    /// An option is missing, of the wrong type or out of range.
    InvalidOption(String),
    /// The input bytes are not an image in a format bunflare decodes.
    NotAnImage,
    /// The input file is larger than `MAX_FILE_BYTES`.
    FileTooLarge { size: usize },
    /// The input or a requested size is wider or taller than `MAX_DIMENSION`.
    DimensionTooLarge { width: u64, height: u64 },
    /// The input or a requested size has more pixels than `MAX_AREA`.
    AreaTooLarge {
        width: u64,
        height: u64,
        frames: u64,
    },
    /// The output format exists in production but this build cannot encode it.
    OutputUnavailable(&'static str),
    /// An encoder or decoder failed on a valid request.
    Codec(String),
}

impl ImagesError {
    /// Returns the numeric code production reports for this failure, from
    /// Cloudflare's Images troubleshooting page.
    pub fn status(&self) -> u32 {
        match self {
            ImagesError::InvalidOption(_) | ImagesError::OutputUnavailable(_) => 9401,
            ImagesError::FileTooLarge { .. } => 9402,
            ImagesError::NotAnImage => 9412,
            ImagesError::DimensionTooLarge { .. } | ImagesError::AreaTooLarge { .. } => 9413,
            ImagesError::Codec(_) => 9523,
        }
    }
}

impl Display for ImagesError {
    // NOTE: only the 9412 wording is production's; the other messages are
    // bunflare's own, with production's numeric codes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.status();
        match self {
            ImagesError::InvalidOption(message) => write!(f, "{status}: {message}"),
            ImagesError::NotAnImage => write!(f, "{status}: The requested file is not an image"),
            ImagesError::FileTooLarge { size } => write!(
                f,
                "{status}: The image is {size} bytes, over the limit of {} bytes",
                super::MAX_FILE_BYTES
            ),
            ImagesError::DimensionTooLarge { width, height } => write!(
                f,
                "{status}: The image size {width}x{height} exceeds the maximum dimension of {} pixels",
                super::MAX_DIMENSION
            ),
            ImagesError::AreaTooLarge { width, height, frames } => write!(
                f,
                "{status}: The image area {width}x{height}x{frames} frames exceeds the maximum of {} pixels (100 megapixels)",
                super::MAX_AREA
            ),
            ImagesError::OutputUnavailable(format) => write!(
                f,
                "{status}: Output format {format} is not available in bunflare: its encoder is not compiled in. Use image/webp or image/png locally"
            ),
            ImagesError::Codec(message) => write!(f, "{status}: {message}"),
        }
    }
}

impl ErrorCode for ImagesError {
    fn code(&self) -> &'static str {
        match self {
            ImagesError::InvalidOption(_) => "IMAGES_INVALID_OPTION",
            ImagesError::NotAnImage => "IMAGES_NOT_AN_IMAGE",
            ImagesError::FileTooLarge { .. } => "IMAGES_FILE_TOO_LARGE",
            ImagesError::DimensionTooLarge { .. } => "IMAGES_DIMENSION_TOO_LARGE",
            ImagesError::AreaTooLarge { .. } => "IMAGES_AREA_TOO_LARGE",
            ImagesError::OutputUnavailable(_) => "IMAGES_OUTPUT_UNAVAILABLE",
            ImagesError::Codec(_) => "IMAGES_CODEC",
        }
    }
}

impl From<ImagesError> for napi::Error {
    fn from(error: ImagesError) -> Self {
        to_napi(error)
    }
}

/// Shorthand for an `InvalidOption` error.
pub fn invalid(message: impl Into<String>) -> ImagesError {
    ImagesError::InvalidOption(message.into())
}
