//! Decoding with production's size limits, and encoding to each output format.

use std::io::Cursor;

use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{AnimationDecoder, Delay, DynamicImage, Frame, ImageFormat, ImageReader, Rgba};

use super::error::ImagesError;
use super::options::{OutputFormat, OutputOptions};
use super::{MAX_AREA, MAX_DIMENSION, MAX_FILE_BYTES};

/// JPEG has no alpha, so transparent areas get this color unless `background` names one.
const DEFAULT_JPEG_BACKGROUND: Rgba<u8> = Rgba([255, 255, 255, 255]);

/// Encoder effort of the GIF quantizer, 1 (best) to 30 (fastest); image's default is 1.
const GIF_QUANTIZER_SPEED: i32 = 10;

/// One decoded frame and how long it shows (zero for a still image).
pub struct DecodedFrame {
    pub image: DynamicImage,
    pub delay: Delay,
}

/// The header facts `info()` returns. SVG has a format but no dimensions.
pub struct Info {
    pub format: &'static str,
    pub dimensions: Option<(u32, u32)>,
}

/// Returns the MIME type of a format bunflare decodes.
fn mime(format: ImageFormat) -> Option<&'static str> {
    match format {
        ImageFormat::Png => Some("image/png"),
        ImageFormat::Jpeg => Some("image/jpeg"),
        ImageFormat::Gif => Some("image/gif"),
        ImageFormat::WebP => Some("image/webp"),
        _ => None,
    }
}

/// Returns whether the bytes are an SVG document (text whose root element is `<svg`).
fn is_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let Ok(text) =
        std::str::from_utf8(head).or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]))
    else {
        return false;
    };
    let text = text.trim_start_matches('\u{feff}').trim_start();
    (text.starts_with("<svg")
        || text.starts_with("<?xml")
        || text.starts_with("<!--")
        || text.starts_with("<!DOCTYPE svg"))
        && text.contains("<svg")
}

fn check_file_size(bytes: &[u8]) -> Result<(), ImagesError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImagesError::FileTooLarge { size: bytes.len() });
    }
    Ok(())
}

/// A reader over in-memory bytes.
type BytesReader<'a> = ImageReader<Cursor<&'a [u8]>>;

/// Opens a reader and checks that the format is one bunflare decodes.
fn reader(bytes: &[u8]) -> Result<(BytesReader<'_>, ImageFormat), ImagesError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| ImagesError::NotAnImage)?;
    let format = reader
        .format()
        .filter(|f| mime(*f).is_some())
        .ok_or(ImagesError::NotAnImage)?;
    Ok((reader, format))
}

/// Reads the format and size from the header, without decoding pixels.
pub fn info(bytes: &[u8]) -> Result<Info, ImagesError> {
    check_file_size(bytes)?;
    if is_svg(bytes) {
        return Ok(Info {
            format: "image/svg+xml",
            dimensions: None,
        });
    }

    let (reader, format) = reader(bytes)?;
    let dimensions = reader
        .into_dimensions()
        .map_err(|_| ImagesError::NotAnImage)?;
    Ok(Info {
        format: mime(format).unwrap_or("application/octet-stream"),
        dimensions: Some(dimensions),
    })
}

/// Checks decoded dimensions against production's per-image limits.
fn check_dimensions(width: u32, height: u32, frames: u64) -> Result<(), ImagesError> {
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(ImagesError::DimensionTooLarge {
            width: width as u64,
            height: height as u64,
        });
    }
    if width as u64 * height as u64 * frames > MAX_AREA {
        return Err(ImagesError::AreaTooLarge {
            width: width as u64,
            height: height as u64,
            frames,
        });
    }
    Ok(())
}

/// Decodes an image. With `animated`, every frame of a GIF is decoded;
/// otherwise only the first.
pub fn decode(bytes: &[u8], animated: bool) -> Result<Vec<DecodedFrame>, ImagesError> {
    check_file_size(bytes)?;
    if is_svg(bytes) {
        // NOTE: production rasterizes SVG input; bunflare has no SVG renderer.
        return Err(ImagesError::NotAnImage);
    }

    let (reader, format) = reader(bytes)?;
    let (width, height) = reader
        .into_dimensions()
        .map_err(|_| ImagesError::NotAnImage)?;
    check_dimensions(width, height, 1)?;

    if animated && format == ImageFormat::Gif {
        let decoder = GifDecoder::new(Cursor::new(bytes)).map_err(|_| ImagesError::NotAnImage)?;
        let mut frames = Vec::new();
        for frame in decoder.into_frames() {
            let frame = frame
                .map_err(|e| ImagesError::Codec(format!("Could not decode GIF frame: {e}")))?;
            // Production limits an animation by the area of all its frames together.
            check_dimensions(width, height, frames.len() as u64 + 1)?;
            let delay = frame.delay();
            frames.push(DecodedFrame {
                image: DynamicImage::ImageRgba8(frame.into_buffer()),
                delay,
            });
        }
        if !frames.is_empty() {
            return Ok(frames);
        }
    }

    let (reader, _) = self::reader(bytes)?;
    let image = reader.decode().map_err(|_| ImagesError::NotAnImage)?;
    Ok(vec![DecodedFrame {
        image: normalize(image),
        delay: Delay::from_numer_denom_ms(0, 1),
    }])
}

/// Converts any decoded layout to 8-bit L, LA, RGB or RGBA, the four the
/// pixel operations handle.
pub fn normalize(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.into_luma8()),
        DynamicImage::ImageLumaA16(_) => DynamicImage::ImageLumaA8(image.into_luma_alpha8()),
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.into_rgba8()),
        other => DynamicImage::ImageRgb8(other.into_rgb8()),
    }
}

/// Encodes the frames in the requested format. Only GIF keeps more than one frame.
pub fn encode(frames: Vec<DecodedFrame>, output: &OutputOptions) -> Result<Vec<u8>, ImagesError> {
    let failed = |e: image::ImageError| {
        ImagesError::Codec(format!(
            "Could not encode {}: {e}",
            output.format.content_type()
        ))
    };
    let mut bytes = Vec::new();

    if output.format == OutputFormat::Gif {
        let mut encoder = GifEncoder::new_with_speed(&mut bytes, GIF_QUANTIZER_SPEED);
        encoder.set_repeat(Repeat::Infinite).map_err(failed)?;
        let frames = frames.into_iter().map(|frame| {
            let image = match output.background {
                Some(color) => super::ops::flatten(frame.image, color),
                None => frame.image,
            };
            Frame::from_parts(image.into_rgba8(), 0, 0, frame.delay)
        });
        encoder.encode_frames(frames).map_err(failed)?;
        drop(encoder);
        return Ok(bytes);
    }

    let first = frames
        .into_iter()
        .next()
        .map(|frame| frame.image)
        .ok_or_else(|| ImagesError::Codec("no image to encode".into()))?;
    let image = match (output.format, output.background) {
        (OutputFormat::Jpeg | OutputFormat::Rgb, background) => {
            super::ops::flatten(first, background.unwrap_or(DEFAULT_JPEG_BACKGROUND))
        }
        (_, Some(background)) => super::ops::flatten(first, background),
        (_, None) => first,
    };

    match output.format {
        OutputFormat::Png => {
            let encoder = PngEncoder::new_with_quality(
                &mut bytes,
                CompressionType::Fast,
                FilterType::Adaptive,
            );
            image.write_with_encoder(encoder).map_err(failed)?;
        }
        OutputFormat::Jpeg => {
            let image = match image {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => image,
                DynamicImage::ImageLumaA8(_) => DynamicImage::ImageLuma8(image.into_luma8()),
                other => DynamicImage::ImageRgb8(other.into_rgb8()),
            };
            image
                .write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, output.quality))
                .map_err(failed)?;
        }
        OutputFormat::Webp => bytes = encode_webp(image, output.quality),
        OutputFormat::Avif => {
            // NOTE: AVIF encoding (rav1e) is not compiled in, to keep the
            // addon's build time down; production encodes AVIF.
            return Err(ImagesError::OutputUnavailable("image/avif"));
        }
        OutputFormat::Rgb => bytes = image.into_rgb8().into_raw(),
        OutputFormat::Rgba => bytes = image.into_rgba8().into_raw(),
        OutputFormat::Gif => unreachable!("GIF output returns above"),
    }
    Ok(bytes)
}

/// Encodes lossy WebP at `quality`, or lossless WebP at quality 100, as
/// production's `format: "webp"` documents.
fn encode_webp(image: DynamicImage, quality: u8) -> Vec<u8> {
    let image = match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.into_rgba8()),
        other => DynamicImage::ImageRgb8(other.into_rgb8()),
    };
    let (width, height) = (image.width(), image.height());
    let encoder = match &image {
        DynamicImage::ImageRgba8(buffer) => {
            webp::Encoder::from_rgba(buffer.as_raw(), width, height)
        }
        other => webp::Encoder::from_rgb(other.as_bytes(), width, height),
    };
    let encoded = if quality >= 100 {
        encoder.encode_lossless()
    } else {
        encoder.encode(quality as f32)
    };
    encoded.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_sniffing() {
        assert!(is_svg(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"));
        assert!(is_svg(b"  <?xml version=\"1.0\"?>\n<svg></svg>"));
        assert!(!is_svg(b"<html><body></body></html>"));
        assert!(!is_svg(&[0x89, b'P', b'N', b'G']));
    }

    #[test]
    fn garbage_is_not_an_image() {
        assert!(matches!(
            info(b"hello world, this is text"),
            Err(ImagesError::NotAnImage)
        ));
        assert!(matches!(
            decode(b"hello world", false),
            Err(ImagesError::NotAnImage)
        ));
    }
}
