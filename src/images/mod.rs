//! The Images engine: `info` and the transformation pipeline behind
//! `env.IMAGES.input(...).transform(...).draw(...).output(...)`.
//!
//! `info` reads only the header, so it is a synchronous call. Each output is
//! one napi `AsyncTask`: decoding, resampling and encoding run on libuv's
//! thread pool, so the JavaScript thread does not wait for pixels. It only
//! turns the encoded bytes into a Buffer when the task resolves.

mod codec;
mod error;
mod ops;
mod options;

use std::cell::RefCell;

use fast_image_resize::Resizer;
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};
use napi_derive::napi;

use crate::errors::to_napi;
pub use error::ImagesError;
use options::{Operation, OutputFormat};

/// Maximum input file size in bytes (100 MB), from Cloudflare's Images
/// "Limits and formats" page (transforming remote images).
pub const MAX_FILE_BYTES: usize = 100 * 1000 * 1000;

/// Maximum width or height in pixels, from the same page.
pub const MAX_DIMENSION: u32 = 12_000;

/// Maximum image area in pixels (100 megapixels), from the same page; for an
/// animation it is the area of all frames together.
pub const MAX_AREA: u64 = 100_000_000;

/// The result of `info()`. SVG input has only `format`.
#[napi(object)]
pub struct ImageInfo {
    pub format: String,
    pub file_size: Option<u32>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Reads an image's format and size from its header.
#[napi]
pub fn image_info(data: Buffer) -> napi::Result<ImageInfo> {
    let info = codec::info(&data).map_err(to_napi)?;
    Ok(ImageInfo {
        format: info.format.to_string(),
        file_size: info.dimensions.map(|_| data.len() as u32),
        width: info.dimensions.map(|(width, _)| width),
        height: info.dimensions.map(|(_, height)| height),
    })
}

/// One encoded output and its content type.
#[napi(object)]
pub struct ImageOutput {
    pub data: Buffer,
    pub content_type: String,
}

/// The work of one `output()` call.
pub struct TransformTask {
    plan: String,
    images: Vec<Buffer>,
}

#[napi]
impl Task for TransformTask {
    type Output = (Vec<u8>, &'static str);
    type JsValue = ImageOutput;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let inputs: Vec<&[u8]> = self.images.iter().map(|buffer| buffer.as_ref()).collect();
        transform(&self.plan, &inputs).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(ImageOutput {
            data: Buffer::from(output.0),
            content_type: output.1.to_string(),
        })
    }
}

/// Runs a transformation plan off the JavaScript thread. `images[0]` is the
/// canvas and `images[1..]` the overlays that `draw` steps refer to. The plan
/// is JSON: `{operations: [{image, transform} | {image, target, draw}], output}`.
#[napi(ts_return_type = "Promise<ImageOutput>")]
pub fn transform_image(plan: String, images: Vec<Buffer>) -> AsyncTask<TransformTask> {
    AsyncTask::new(TransformTask { plan, images })
}

thread_local! {
    /// The resampler keeps scratch buffers, so each pool thread reuses one.
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// Decodes, transforms and encodes; returns the bytes and their content type.
pub fn transform(plan: &str, images: &[&[u8]]) -> Result<(Vec<u8>, &'static str), ImagesError> {
    let plan = options::parse_plan(plan)?;
    if images.is_empty() {
        return Err(error::invalid("no input image"));
    }

    // Only GIF output keeps an animation; other formats take the first frame.
    let animated = plan.output.format == OutputFormat::Gif && plan.output.anim;
    let mut decoded: Vec<Option<Vec<codec::DecodedFrame>>> =
        (0..images.len()).map(|_| None).collect();
    decoded[0] = Some(codec::decode(images[0], animated)?);

    RESIZER.with(|resizer| -> Result<(), ImagesError> {
        let resizer = &mut resizer.borrow_mut();
        for operation in &plan.operations {
            match operation {
                Operation::Transform { image, transform } => {
                    let frames = frames_of(&mut decoded, images, *image)?;
                    for frame in frames.iter_mut() {
                        let source = std::mem::replace(
                            &mut frame.image,
                            image::DynamicImage::new_luma8(0, 0),
                        );
                        frame.image = ops::apply_transform(source, transform, resizer)?;
                    }
                }
                Operation::Draw {
                    image,
                    target,
                    options,
                } => {
                    let overlay = frames_of(&mut decoded, images, *image)?
                        .swap_remove(0)
                        .image;
                    decoded[*image] = None;
                    let frames = frames_of(&mut decoded, images, *target)?;
                    for frame in frames.iter_mut() {
                        let backdrop = std::mem::replace(
                            &mut frame.image,
                            image::DynamicImage::new_luma8(0, 0),
                        );
                        frame.image = ops::draw(backdrop, &overlay, options, resizer)?;
                    }
                }
            }
        }
        Ok(())
    })?;

    let frames = decoded.swap_remove(0).unwrap_or_default();
    let bytes = codec::encode(frames, &plan.output)?;
    Ok((bytes, plan.output.format.content_type()))
}

/// Returns the frames of image `index`, decoding it on first use.
fn frames_of<'a>(
    decoded: &'a mut [Option<Vec<codec::DecodedFrame>>],
    images: &[&[u8]],
    index: usize,
) -> Result<&'a mut Vec<codec::DecodedFrame>, ImagesError> {
    let bytes = images.get(index).ok_or_else(|| {
        error::invalid(format!("draw refers to image {index}, which was not sent"))
    })?;
    if decoded[index].is_none() {
        decoded[index] = Some(codec::decode(bytes, false)?);
    }
    Ok(decoded[index].as_mut().expect("decoded above"))
}
