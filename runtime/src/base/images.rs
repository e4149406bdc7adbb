//! Images as `log_image` takes and stores them (the `image` feature): the [`Image`] type and
//! its sources, the key rule, the file names the UI's image grid reads, the PNG and the
//! `+compressed.webp` thumbnail, as the Python client makes them
//! (`MlflowClient.log_image`, `mlflow/tracking/multimedia.py`).

use std::io::Cursor;
use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, ImageBuffer, ImageFormat, Pixel};

use super::error::{Error, Result, warn};

/// The tag Python sets to `True` on a run with stepped images.
pub const LOGGED_IMAGES_TAG: &str = "mlflow.loggedImages";

/// The longest side of a thumbnail (`COMPRESSED_IMAGE_SIZE`).
const THUMBNAIL_SIZE: u32 = 256;

/// An image to log, 8 bits per channel: gray, gray with alpha, RGB or RGBA (Python's PIL
/// modes `L`, `LA`, `RGB`, `RGBA`). Made from what a Rust program has:
///
/// - pixels in memory, row by row, channels interleaved (`H x W x C`, numpy's and PIL's
///   layout): [`Image::from_u8`], or [`Image::from_f32`] for values in `[0, 1]` (a
///   tensor's output: Python's rules for float arrays);
/// - encoded bytes (PNG, JPEG, WebP): [`Image::decode`], or a file: [`Image::open`];
/// - an [`image`](https://docs.rs/image) crate image: `DynamicImage`, `RgbImage`,
///   `GrayImage`, ... convert with `into()` (16-bit and float images become 8-bit).
///
/// ```
/// # use mlflow_tracking_runtime as mlflow;
/// // A 2 x 1 RGB image: a red pixel, then a blue one.
/// let image = mlflow::Image::from_u8(2, 1, 3, vec![255, 0, 0, 0, 0, 255])?;
/// assert_eq!((image.width(), image.height()), (2, 1));
/// // A gray mask from a model's output in [0, 1]:
/// let mask = mlflow::Image::from_f32(2, 2, 1, &[0.0, 1.0, 0.5, 0.25])?;
/// # let _ = mask;
/// # Ok::<(), mlflow::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    image: DynamicImage,
}

impl Image {
    /// An image from 8-bit pixels: `height` rows of `width` pixels of `channels` values
    /// (1: gray, 3: RGB, 4: RGBA), `width * height * channels` bytes in all.
    pub fn from_u8(width: u32, height: u32, channels: u8, pixels: Vec<u8>) -> Result<Image> {
        check_shape(width, height, channels, pixels.len())?;
        let image = match channels {
            1 => ImageBuffer::from_raw(width, height, pixels).map(DynamicImage::ImageLuma8),
            3 => ImageBuffer::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8),
            _ => ImageBuffer::from_raw(width, height, pixels).map(DynamicImage::ImageRgba8),
        };
        image
            .map(|image| Image { image })
            .ok_or_else(|| Error::Internal("pixel buffer of the checked size refused".into()))
    }

    /// An image from float pixels in `[0, 1]` (layout as [`Image::from_u8`]), as Python
    /// takes a float array: each value times 255, truncated. When a value is out of
    /// `[0, 1]`, all are first rescaled by their minimum and maximum, with a warning.
    pub fn from_f32(width: u32, height: u32, channels: u8, pixels: &[f32]) -> Result<Image> {
        check_shape(width, height, channels, pixels.len())?;
        let (min, max) = pixels
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        // NaN makes numpy's min and max NaN, and Python then rescales nothing.
        let rescale = !pixels.iter().any(|v| v.is_nan()) && (min < 0.0 || max > 1.0);
        if rescale {
            warn(&format!(
                "Float pixel values out of acceptable range [0.0, 1.0]. Found minimum value \
                 {min} and maximum value {max}. Rescaling values to [0.0, 1.0] with min/max scaler."
            ));
        }
        let bytes = pixels
            .iter()
            .map(|&v| {
                let v = if rescale { (v - min) / (max - min) } else { v };
                (v * 255.0) as u8
            })
            .collect();
        Image::from_u8(width, height, channels, bytes)
    }

    /// An image from the bytes of a PNG, JPEG or WebP file.
    pub fn decode(bytes: &[u8]) -> Result<Image> {
        image::load_from_memory(bytes)
            .map(Image::from)
            .map_err(|e| Error::InvalidArgument(format!("cannot decode the image: {e}")))
    }

    /// The image in the PNG, JPEG or WebP file `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Image> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io("image", path, e))?;
        Image::decode(&bytes)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.image.height()
    }

    /// The pixels, as an `image` crate image (8 bits per channel).
    pub fn as_dynamic(&self) -> &DynamicImage {
        &self.image
    }

    /// The pixels, as an `image` crate image (8 bits per channel).
    pub fn into_dynamic(self) -> DynamicImage {
        self.image
    }

    /// The PNG file (PIL's `image.save("x.png")`).
    pub(crate) fn png(&self) -> Result<Vec<u8>> {
        encode(&self.image, ImageFormat::Png)
    }

    /// The thumbnail: scaled (up or down) so that its longest side is 256 pixels
    /// (`compress_image_size`, bicubic as PIL's `resize`), as a WebP file.
    pub(crate) fn thumbnail_webp(&self) -> Result<Vec<u8>> {
        let (w, h) = thumbnail_size(self.width(), self.height());
        let small = self.image.resize_exact(w, h, FilterType::CatmullRom);
        encode(&small, ImageFormat::WebP)
    }

    /// The file for `artifact_file`, in the format its extension names (PIL's
    /// `image.save(path)`): `.png`, `.jpg`/`.jpeg` or `.webp`.
    pub(crate) fn encode_for(&self, artifact_file: &str) -> Result<Vec<u8>> {
        let format = Path::new(artifact_file)
            .extension()
            .and_then(ImageFormat::from_extension)
            .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP));
        match format {
            Some(format) => encode(&self.image, format),
            None => Err(Error::InvalidArgument(format!(
                "cannot write an image as {artifact_file:?}: the file name must end with .png, \
                 .jpg, .jpeg or .webp"
            ))),
        }
    }
}

impl From<DynamicImage> for Image {
    fn from(image: DynamicImage) -> Image {
        let image = match image {
            DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageRgb8(_)
            | DynamicImage::ImageRgba8(_) => image,
            DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
            DynamicImage::ImageLumaA16(_) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
            DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgb32F(_) => {
                DynamicImage::ImageRgb8(image.to_rgb8())
            }
            _ => DynamicImage::ImageRgba8(image.to_rgba8()),
        };
        Image { image }
    }
}

impl From<&DynamicImage> for Image {
    fn from(image: &DynamicImage) -> Image {
        Image::from(image.clone())
    }
}

impl<P: Pixel> From<ImageBuffer<P, Vec<P::Subpixel>>> for Image
where
    DynamicImage: From<ImageBuffer<P, Vec<P::Subpixel>>>,
{
    fn from(image: ImageBuffer<P, Vec<P::Subpixel>>) -> Image {
        Image::from(DynamicImage::from(image))
    }
}

impl From<&Image> for Image {
    fn from(image: &Image) -> Image {
        image.clone()
    }
}

fn check_shape(width: u32, height: u32, channels: u8, len: usize) -> Result<()> {
    if !matches!(channels, 1 | 3 | 4) {
        return Err(Error::InvalidArgument(format!(
            "Invalid channel length: {channels}. Must be one of [1, 3, 4]"
        )));
    }
    if width == 0 || height == 0 {
        return Err(Error::InvalidArgument(format!(
            "an image of {width} x {height} pixels has no pixel"
        )));
    }
    let want = width as u64 * height as u64 * u64::from(channels);
    if len as u64 != want {
        return Err(Error::InvalidArgument(format!(
            "{len} values for a {width} x {height} image of {channels} channel(s): expected {want}"
        )));
    }
    Ok(())
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).map_err(|e| {
        Error::InvalidArgument(format!("cannot encode the image as {format:?}: {e}"))
    })?;
    Ok(out.into_inner())
}

/// `compress_image_size`: the longest side becomes 256, the other keeps the aspect ratio,
/// truncated as Python's `int()` does (at least 1 pixel, where PIL would refuse 0).
pub(crate) fn thumbnail_size(width: u32, height: u32) -> (u32, u32) {
    let size = f64::from(THUMBNAIL_SIZE);
    let (w, h) = if width > height {
        (
            THUMBNAIL_SIZE,
            (f64::from(height) * (size / f64::from(width))) as u32,
        )
    } else {
        (
            (f64::from(width) * (size / f64::from(height))) as u32,
            THUMBNAIL_SIZE,
        )
    };
    (w.max(1), h.max(1))
}

/// Python's key rule: alphanumerics, `_`, `-`, `.`, space and `/`, at least one.
pub(crate) fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/'));
    if ok {
        return Ok(());
    }
    Err(Error::InvalidKey {
        kind: "image",
        key: key.to_owned(),
        reason: "The `key` parameter may only contain alphanumerics, underscores (_), dashes \
                 (-), periods (.), spaces ( ), and slashes (/)."
            .into(),
    })
}

/// The image's file and its thumbnail's: `images/<key, / as ~>+step+<step>+timestamp+<ms>+
/// <uuid>.png` and `...+<uuid>+compressed.webp`, the names the UI's image grid parses.
pub(crate) fn file_names(key: &str, step: i64, timestamp: i64, uuid: &str) -> (String, String) {
    let stem = format!(
        "images/{}+step+{step}+timestamp+{timestamp}+{uuid}",
        key.replace('/', "~")
    );
    (format!("{stem}.png"), format!("{stem}+compressed.webp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sizes_and_keys() {
        assert_eq!(
            file_names("val/dogs", 3, 1700000000000, "u-u"),
            (
                "images/val~dogs+step+3+timestamp+1700000000000+u-u.png".into(),
                "images/val~dogs+step+3+timestamp+1700000000000+u-u+compressed.webp".into()
            )
        );
        assert_eq!(thumbnail_size(100, 50), (256, 128));
        assert_eq!(thumbnail_size(50, 100), (128, 256));
        assert_eq!(thumbnail_size(1000, 1000), (256, 256));
        assert_eq!(thumbnail_size(300, 7), (256, 5), "int(7 * (256 / 300)) = 5");
        assert_eq!(thumbnail_size(3000, 1), (256, 1));
        assert!(check_key("a b/c_d-e.f").is_ok());
        assert!(check_key("a:b").is_err());
        assert!(check_key("").is_err());
        assert!(check_key("é").is_err());
    }

    #[test]
    fn sources_and_files() {
        assert!(Image::from_u8(2, 2, 2, vec![0; 8]).is_err());
        assert!(Image::from_u8(2, 2, 3, vec![0; 11]).is_err());
        let f = Image::from_f32(2, 1, 1, &[0.5, 1.0]).unwrap();
        assert_eq!(f.as_dynamic().as_bytes(), [127, 255]);
        // Out of range: rescaled by min and max, as Python does.
        let g = Image::from_f32(3, 1, 1, &[-1.0, 0.0, 1.0]).unwrap();
        assert_eq!(g.as_dynamic().as_bytes(), [0, 127, 255]);
        let rgb = Image::from_u8(100, 50, 3, vec![200; 100 * 50 * 3]).unwrap();
        let back = Image::decode(&rgb.png().unwrap()).unwrap();
        assert_eq!(back, rgb);
        let thumb = Image::decode(&rgb.thumbnail_webp().unwrap()).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (256, 128));
        assert!(rgb.encode_for("a.jpeg").is_ok());
        assert!(rgb.encode_for("a.bmp").is_err());
        let wide: Image = image::RgbImage::new(4, 2).into();
        assert_eq!(wide.width(), 4);
        let sixteen: Image = DynamicImage::ImageRgb16(ImageBuffer::new(1, 1)).into();
        assert!(matches!(sixteen.as_dynamic(), DynamicImage::ImageRgb8(_)));
    }
}
