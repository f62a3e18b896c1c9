//! Pixel operations: one `transform` applied to a decoded image, and `draw`
//! compositing. Images are 8-bit L, LA, RGB or RGBA (`codec` normalises them).

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, GenericImageView, Rgba, RgbaImage};

use super::error::{invalid, ImagesError};
use super::options::{Border, Composite, DrawOptions, Fit, Gravity, Transform, Trim};
use super::{MAX_AREA, MAX_DIMENSION};

/// Background of `fit: "pad"` when `background` is absent; production pads with white.
const DEFAULT_PAD_BACKGROUND: Rgba<u8> = Rgba([255, 255, 255, 255]);

/// Applies one `transform({...})` to an image. Within one call the steps run
/// in production's documented order: trim, flip, rotate, resize, filters,
/// background, border.
pub fn apply_transform(
    image: DynamicImage,
    transform: &Transform,
    resizer: &mut Resizer,
) -> Result<DynamicImage, ImagesError> {
    let dpr = transform.dpr;
    let mut image = image;

    if let Some(trim) = &transform.trim {
        image = apply_trim(image, trim, dpr)?;
    }

    // Production flips before it rotates, so flip=h with rotate=90 mirrors first.
    if transform.flip_horizontal {
        image = image.fliph();
    }
    if transform.flip_vertical {
        image = image.flipv();
    }
    image = match transform.rotate {
        90 => image.rotate90(),
        180 => image.rotate180(),
        270 => image.rotate270(),
        _ => image,
    };

    image = resize(image, transform, resizer)?;

    if let Some(radius) = transform.blur.filter(|r| *r > 0.0) {
        // A radius-r blur is approximated by a Gaussian of sigma r/2.
        image = image.fast_blur((radius / 2.0) as f32);
    }
    if let Some(strength) = transform.sharpen.filter(|s| *s > 0.0) {
        image = sharpen(image, strength);
    }
    adjust_colors(&mut image, transform);

    if let Some(color) = transform.background {
        image = flatten(image, color);
    }
    if let Some(border) = &transform.border {
        image = add_border(image, border, dpr);
    }

    // NOTE: segment: "foreground" needs production's segmentation model;
    // bunflare leaves the image unchanged.
    Ok(image)
}

/// The size an image is resized to, and the part of that resized image kept.
#[derive(Debug, PartialEq)]
struct ResizePlan {
    /// Size of the whole source scaled, before cropping.
    scaled: (f64, f64),
    /// The kept window of the scaled image: x, y, width, height.
    window: (f64, f64, f64, f64),
    /// For `pad`, the canvas the window is centered on.
    canvas: Option<(u32, u32)>,
}

/// Works out the scale, crop window and padding of one resize.
fn plan_resize(
    source: (u32, u32),
    target: (Option<f64>, Option<f64>),
    fit: Fit,
    gravity: Gravity,
) -> ResizePlan {
    let (source_width, source_height) = (source.0 as f64, source.1 as f64);
    let width_scale = target.0.map(|w| w / source_width);
    let height_scale = target.1.map(|h| h / source_height);

    // Scale that fits inside the target, and scale that covers it; with one
    // dimension given, both are that dimension's scale.
    let contain = match (width_scale, height_scale) {
        (Some(w), Some(h)) => w.min(h),
        (Some(s), None) | (None, Some(s)) => s,
        (None, None) => 1.0,
    };
    let cover = match (width_scale, height_scale) {
        (Some(w), Some(h)) => w.max(h),
        _ => contain,
    };

    let whole = |scale: f64| {
        let scaled = (
            (source_width * scale).round().max(1.0),
            (source_height * scale).round().max(1.0),
        );
        ResizePlan {
            scaled,
            window: (0.0, 0.0, scaled.0, scaled.1),
            canvas: None,
        }
    };
    let cropped = |scale: f64| {
        let scaled = (
            (source_width * scale).round().max(1.0),
            (source_height * scale).round().max(1.0),
        );
        let width = target.0.unwrap_or(scaled.0).min(scaled.0);
        let height = target.1.unwrap_or(scaled.1).min(scaled.1);
        let x = gravity_offset(gravity.x, scaled.0, width, gravity.box_center);
        let y = gravity_offset(gravity.y, scaled.1, height, gravity.box_center);
        ResizePlan {
            scaled,
            window: (x, y, width, height),
            canvas: None,
        }
    };

    match fit {
        Fit::Contain => whole(contain),
        Fit::ScaleDown => whole(contain.min(1.0)),
        Fit::ScaleUp => whole(contain.max(1.0)),
        Fit::Cover => cropped(cover),
        Fit::Crop => cropped(cover.min(1.0)),
        Fit::Squeeze => {
            let width = target.0.unwrap_or((source_width * contain).round());
            let height = target.1.unwrap_or((source_height * contain).round());
            ResizePlan {
                scaled: (width, height),
                window: (0.0, 0.0, width, height),
                canvas: None,
            }
        }
        Fit::Pad => {
            let mut plan = whole(contain);
            let canvas = (
                target.0.unwrap_or(plan.scaled.0) as u32,
                target.1.unwrap_or(plan.scaled.1) as u32,
            );
            plan.canvas = Some(canvas);
            plan
        }
    }
}

/// Returns where a window of `kept` pixels starts inside `total` pixels.
fn gravity_offset(fraction: f64, total: f64, kept: f64, box_center: bool) -> f64 {
    let slack = total - kept;
    if box_center {
        (fraction * total - kept / 2.0).clamp(0.0, slack).round()
    } else {
        (fraction * slack).round()
    }
}

/// Checks a size the pipeline is about to allocate against production's limits.
pub fn check_size(width: u64, height: u64) -> Result<(), ImagesError> {
    if width > MAX_DIMENSION as u64 || height > MAX_DIMENSION as u64 {
        return Err(ImagesError::DimensionTooLarge { width, height });
    }
    if width * height > MAX_AREA {
        return Err(ImagesError::AreaTooLarge {
            width,
            height,
            frames: 1,
        });
    }
    Ok(())
}

fn resize(
    image: DynamicImage,
    transform: &Transform,
    resizer: &mut Resizer,
) -> Result<DynamicImage, ImagesError> {
    let target = (
        transform.width.map(|w| (w * transform.dpr).round()),
        transform.height.map(|h| (h * transform.dpr).round()),
    );
    if target == (None, None) {
        return Ok(image);
    }

    // NOTE: production's default fit is not documented for the binding;
    // bunflare assumes scale-down, which matches "maximum width/height".
    let fit = transform.fit.unwrap_or(Fit::ScaleDown);
    let plan = plan_resize(image.dimensions(), target, fit, transform.gravity);
    check_size(plan.scaled.0 as u64, plan.scaled.1 as u64)?;

    let (x, y, width, height) = plan.window;
    let unchanged = plan.scaled == (image.width() as f64, image.height() as f64)
        && (width, height) == plan.scaled;
    let resized = if unchanged {
        image
    } else {
        // Resample only the kept window: its position in source pixels is the
        // window divided by the scale on each axis.
        // Rounding can put the box a fraction of a pixel past the edge, which
        // the resampler rejects, so it is clamped to the source.
        let (source_width, source_height) = (image.width() as f64, image.height() as f64);
        let x_scale = plan.scaled.0 / source_width;
        let y_scale = plan.scaled.1 / source_height;
        let left = (x / x_scale).min(source_width);
        let top = (y / y_scale).min(source_height);
        let crop_width = (width / x_scale).min(source_width - left);
        let crop_height = (height / y_scale).min(source_height - top);
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
            .crop(left, top, crop_width, crop_height);
        let mut output = DynamicImage::new(width as u32, height as u32, image.color());
        resizer
            .resize(&image, &mut output, &options)
            .map_err(|e| ImagesError::Codec(format!("Could not resize the image: {e}")))?;
        output
    };

    match plan.canvas {
        None => Ok(resized),
        Some((canvas_width, canvas_height)) => {
            check_size(canvas_width as u64, canvas_height as u64)?;
            let background = transform.background.unwrap_or(DEFAULT_PAD_BACKGROUND);
            let mut canvas = RgbaImage::from_pixel(canvas_width, canvas_height, background);
            let left = (canvas_width as i64 - resized.width() as i64) / 2;
            let top = (canvas_height as i64 - resized.height() as i64) / 2;
            image::imageops::overlay(&mut canvas, &resized.to_rgba8(), left, top);
            Ok(DynamicImage::ImageRgba8(canvas))
        }
    }
}

fn apply_trim(image: DynamicImage, trim: &Trim, dpr: f64) -> Result<DynamicImage, ImagesError> {
    let (width, height) = (image.width() as f64, image.height() as f64);

    let mut left = (trim.left * dpr).round();
    let mut top = (trim.top * dpr).round();
    let mut right = width - (trim.right * dpr).round();
    let mut bottom = height - (trim.bottom * dpr).round();
    if let Some(w) = trim.width {
        right = right.min(left + (w * dpr).round());
    }
    if let Some(h) = trim.height {
        bottom = bottom.min(top + (h * dpr).round());
    }
    if right <= left || bottom <= top {
        return Err(invalid(format!(
            "trim removes the whole {}x{} image; cut less from its sides",
            image.width(),
            image.height()
        )));
    }

    if let Some(border) = &trim.border {
        let rgba = image.to_rgba8();
        let color = border
            .color
            .unwrap_or(*rgba.get_pixel(left as u32, top as u32));
        if let Some((x0, y0, x1, y1)) = content_bounds(
            &rgba,
            (left as u32, top as u32, right as u32, bottom as u32),
            color,
            border.tolerance,
        ) {
            let keep = (border.keep * dpr).round();
            left = (x0 as f64 - keep).max(left);
            top = (y0 as f64 - keep).max(top);
            right = (x1 as f64 + 1.0 + keep).min(right);
            bottom = (y1 as f64 + 1.0 + keep).min(bottom);
        }
    }

    Ok(image.crop_imm(
        left as u32,
        top as u32,
        (right - left) as u32,
        (bottom - top) as u32,
    ))
}

/// Returns the inclusive bounds of the pixels inside `area` whose channels
/// differ from `color` by more than `tolerance`, or None when all match.
fn content_bounds(
    image: &RgbaImage,
    area: (u32, u32, u32, u32),
    color: Rgba<u8>,
    tolerance: f64,
) -> Option<(u32, u32, u32, u32)> {
    let (x_start, y_start, x_end, y_end) = area;
    let differs = |pixel: &Rgba<u8>| {
        pixel
            .0
            .iter()
            .zip(color.0.iter())
            .any(|(a, b)| (*a as f64 - *b as f64).abs() > tolerance)
    };

    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    for y in y_start..y_end {
        for x in x_start..x_end {
            if differs(image.get_pixel(x, y)) {
                bounds = Some(match bounds {
                    None => (x, y, x, y),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                });
            }
        }
    }
    bounds
}

/// Unsharp mask: adds `strength / 2` times the difference from a sigma-1 blur.
fn sharpen(image: DynamicImage, strength: f64) -> DynamicImage {
    let blurred = image.fast_blur(1.0);
    let amount = strength / 2.0;
    let mut output = image;
    let channels = output.color().channel_count() as usize;
    let alpha = output.color().has_alpha();
    let bytes = pixel_bytes_mut(&mut output);
    for (index, (value, smooth)) in bytes.iter_mut().zip(blurred.as_bytes()).enumerate() {
        if alpha && index % channels == channels - 1 {
            continue;
        }
        let sharpened = *value as f64 + amount * (*value as f64 - *smooth as f64);
        *value = sharpened.round().clamp(0.0, 255.0) as u8;
    }
    output
}

/// Applies brightness, contrast and gamma through one lookup table, then saturation.
/// A factor of 1 leaves the image as it is; so does 0, except for saturation.
fn adjust_colors(image: &mut DynamicImage, transform: &Transform) {
    let factor = |value: Option<f64>| value.filter(|v| *v != 0.0 && *v != 1.0);
    let brightness = factor(transform.brightness);
    let contrast = factor(transform.contrast);
    let gamma = factor(transform.gamma);
    // Saturation 0 is meaningful: production documents it as grayscale.
    let saturation = transform.saturation.filter(|v| *v != 1.0);

    let channels = image.color().channel_count() as usize;
    let alpha = image.color().has_alpha();
    let color_channels = if alpha { channels - 1 } else { channels };

    if brightness.is_some() || contrast.is_some() || gamma.is_some() {
        let mut table = [0u8; 256];
        for (input, entry) in table.iter_mut().enumerate() {
            let mut value = input as f64 / 255.0;
            if let Some(b) = brightness {
                value *= b;
            }
            if let Some(c) = contrast {
                value = (value - 0.5) * c + 0.5;
            }
            if let Some(g) = gamma {
                // gamma > 1 lightens, as production's "exposure" factor does.
                value = value.clamp(0.0, 1.0).powf(1.0 / g);
            }
            *entry = (value * 255.0).round().clamp(0.0, 255.0) as u8;
        }
        for pixel in pixel_bytes_mut(image).chunks_exact_mut(channels) {
            for value in &mut pixel[..color_channels] {
                *value = table[*value as usize];
            }
        }
    }

    if let Some(s) = saturation {
        if color_channels == 3 {
            for pixel in pixel_bytes_mut(image).chunks_exact_mut(channels) {
                let luma =
                    0.299 * pixel[0] as f64 + 0.587 * pixel[1] as f64 + 0.114 * pixel[2] as f64;
                for value in &mut pixel[..3] {
                    *value = (luma + (*value as f64 - luma) * s)
                        .round()
                        .clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
}

/// Returns the raw samples of an 8-bit image for in-place edits.
fn pixel_bytes_mut(image: &mut DynamicImage) -> &mut [u8] {
    match image {
        DynamicImage::ImageLuma8(buffer) => buffer,
        DynamicImage::ImageLumaA8(buffer) => buffer,
        DynamicImage::ImageRgb8(buffer) => buffer,
        DynamicImage::ImageRgba8(buffer) => buffer,
        // `codec::normalize` converts every other layout to one of these.
        _ => unreachable!("images are normalised to 8-bit samples after decoding"),
    }
}

/// Puts `color` underneath the image, so transparent areas show it.
pub fn flatten(image: DynamicImage, color: Rgba<u8>) -> DynamicImage {
    if !image.color().has_alpha() {
        return image;
    }
    let mut canvas = RgbaImage::from_pixel(image.width(), image.height(), color);
    image::imageops::overlay(&mut canvas, &image.to_rgba8(), 0, 0);
    if color.0[3] == 255 {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(canvas).into_rgb8())
    } else {
        DynamicImage::ImageRgba8(canvas)
    }
}

fn add_border(image: DynamicImage, border: &Border, dpr: f64) -> DynamicImage {
    let side = |width: f64| (width * dpr).round() as u32;
    let (top, right, bottom, left) = (
        side(border.top),
        side(border.right),
        side(border.bottom),
        side(border.left),
    );
    let mut canvas = RgbaImage::from_pixel(
        image.width() + left + right,
        image.height() + top + bottom,
        border.color,
    );
    image::imageops::replace(&mut canvas, &image.to_rgba8(), left as i64, top as i64);
    DynamicImage::ImageRgba8(canvas)
}

/// Draws `overlay` onto `target` at the position, opacity, tiling and
/// compositing mode of `options`.
pub fn draw(
    target: DynamicImage,
    overlay: &DynamicImage,
    options: &DrawOptions,
    resizer: &mut Resizer,
) -> Result<DynamicImage, ImagesError> {
    let overlay = match &options.resize {
        Some(transform) => apply_transform(overlay.clone(), transform, resizer)?.to_rgba8(),
        None => overlay.to_rgba8(),
    };
    let mut canvas = target.to_rgba8();
    let (canvas_width, canvas_height) = (canvas.width() as i64, canvas.height() as i64);
    let (overlay_width, overlay_height) = (overlay.width() as i64, overlay.height() as i64);

    // An offset is from the named edge; with neither edge given, the overlay is centered.
    let place = |start: Option<f64>, end: Option<f64>, outer: i64, inner: i64| match (start, end) {
        (Some(start), _) => start.round() as i64,
        (None, Some(end)) => outer - inner - end.round() as i64,
        (None, None) => (outer - inner) / 2,
    };
    let x = place(options.left, options.right, canvas_width, overlay_width);
    let y = place(options.top, options.bottom, canvas_height, overlay_height);

    // Tiled axes repeat the overlay from its position toward both edges.
    let positions = |origin: i64, repeat: bool, outer: i64, inner: i64| -> Vec<i64> {
        if !repeat || inner == 0 {
            return vec![origin];
        }
        let first = origin - ((origin + inner - 1).div_euclid(inner)) * inner;
        (0..)
            .map(|i| first + i * inner)
            .take_while(|p| *p < outer)
            .collect()
    };
    for tile_y in positions(y, options.repeat_y, canvas_height, overlay_height) {
        for tile_x in positions(x, options.repeat_x, canvas_width, overlay_width) {
            composite(
                &mut canvas,
                &overlay,
                tile_x,
                tile_y,
                options.opacity,
                options.composite,
            );
        }
    }
    Ok(DynamicImage::ImageRgba8(canvas))
}

/// Porter-Duff compositing of `source` at (x, y) onto `backdrop`, on straight
/// alpha. Only the pixels under the overlay change.
fn composite(
    backdrop: &mut RgbaImage,
    source: &RgbaImage,
    x: i64,
    y: i64,
    opacity: f64,
    mode: Composite,
) {
    let x_start = x.max(0);
    let y_start = y.max(0);
    let x_end = (x + source.width() as i64).min(backdrop.width() as i64);
    let y_end = (y + source.height() as i64).min(backdrop.height() as i64);

    for row in y_start..y_end {
        for column in x_start..x_end {
            let top = source.get_pixel((column - x) as u32, (row - y) as u32);
            let bottom = backdrop.get_pixel_mut(column as u32, row as u32);
            *bottom = blend(*bottom, *top, opacity, mode);
        }
    }
}

fn blend(backdrop: Rgba<u8>, source: Rgba<u8>, opacity: f64, mode: Composite) -> Rgba<u8> {
    let source_alpha = source.0[3] as f64 / 255.0 * opacity;
    let backdrop_alpha = backdrop.0[3] as f64 / 255.0;

    // Each mode is (source weight, backdrop weight) on premultiplied color, and the output alpha.
    let (source_weight, backdrop_weight, alpha) = match mode {
        Composite::Over => (
            source_alpha,
            backdrop_alpha * (1.0 - source_alpha),
            source_alpha + backdrop_alpha * (1.0 - source_alpha),
        ),
        Composite::In => (
            source_alpha * backdrop_alpha,
            0.0,
            source_alpha * backdrop_alpha,
        ),
        Composite::Atop => (
            source_alpha * backdrop_alpha,
            backdrop_alpha * (1.0 - source_alpha),
            backdrop_alpha,
        ),
        Composite::Out => (
            source_alpha * (1.0 - backdrop_alpha),
            0.0,
            source_alpha * (1.0 - backdrop_alpha),
        ),
        Composite::Xor => {
            let s = source_alpha * (1.0 - backdrop_alpha);
            let b = backdrop_alpha * (1.0 - source_alpha);
            (s, b, s + b)
        }
        Composite::Lighter => (
            source_alpha,
            backdrop_alpha,
            (source_alpha + backdrop_alpha).min(1.0),
        ),
    };
    if alpha <= 0.0 {
        return Rgba([0, 0, 0, 0]);
    }

    let mut output = [0u8; 4];
    for (channel, value) in output.iter_mut().take(3).enumerate() {
        let premultiplied =
            source.0[channel] as f64 * source_weight + backdrop.0[channel] as f64 * backdrop_weight;
        *value = (premultiplied / alpha).round().clamp(0.0, 255.0) as u8;
    }
    output[3] = (alpha * 255.0).round().clamp(0.0, 255.0) as u8;
    Rgba(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE: (Option<f64>, Option<f64>) = (Some(200.0), Some(100.0));

    #[test]
    fn fit_sizes() {
        let size = |fit| {
            let plan = plan_resize((400, 400), WIDE, fit, Gravity::CENTER);
            (plan.window.2, plan.window.3, plan.canvas)
        };
        assert_eq!(size(Fit::Contain), (100.0, 100.0, None));
        assert_eq!(size(Fit::Cover), (200.0, 100.0, None));
        assert_eq!(size(Fit::Squeeze), (200.0, 100.0, None));
        assert_eq!(size(Fit::Pad), (100.0, 100.0, Some((200, 100))));
        assert_eq!(size(Fit::ScaleDown), (100.0, 100.0, None));
    }

    #[test]
    fn crop_never_enlarges() {
        let plan = plan_resize((50, 50), WIDE, Fit::Crop, Gravity::CENTER);
        assert_eq!(plan.window, (0.0, 0.0, 50.0, 50.0));
        let plan = plan_resize((400, 80), WIDE, Fit::Crop, Gravity::CENTER);
        assert_eq!(plan.scaled, (400.0, 80.0));
        assert_eq!(plan.window, (100.0, 0.0, 200.0, 80.0));
    }

    #[test]
    fn gravity_moves_window() {
        let left = Gravity {
            x: 0.0,
            y: 0.5,
            box_center: false,
        };
        let plan = plan_resize((400, 100), (Some(100.0), Some(100.0)), Fit::Cover, left);
        assert_eq!(plan.window, (0.0, 0.0, 100.0, 100.0));
        let right = Gravity {
            x: 1.0,
            y: 0.5,
            box_center: false,
        };
        let plan = plan_resize((400, 100), (Some(100.0), Some(100.0)), Fit::Cover, right);
        assert_eq!(plan.window, (300.0, 0.0, 100.0, 100.0));
    }

    #[test]
    fn cover_rounding_stays_inside() {
        let mut resizer = Resizer::new();
        let source = DynamicImage::new_rgb8(451, 300);
        let transform = Transform {
            width: Some(120.0),
            height: Some(80.0),
            fit: Some(Fit::Cover),
            ..Transform::default()
        };
        let output = resize(source, &transform, &mut resizer).unwrap();
        assert_eq!(output.dimensions(), (120, 80));
    }

    #[test]
    fn blend_over_half_opacity() {
        let out = blend(
            Rgba([0, 0, 0, 255]),
            Rgba([255, 255, 255, 255]),
            0.5,
            Composite::Over,
        );
        assert_eq!(out, Rgba([128, 128, 128, 255]));
    }
}
